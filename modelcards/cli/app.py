"""The command group, the options and error handling every command shares, and `main`.

A `ModelcardsError` (or a usage error) becomes one line on stderr and exit code 2.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from modelcards import __version__
from modelcards.safeio.errors import ModelcardsError

F = TypeVar("F", bound=Callable[..., Any])
EXIT_USAGE = 2

repo_option = click.option(
    "-C",
    "--repo",
    "root",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    help="The project root, where modelcards.yml is (default: the current folder).",
)
online_option = click.option(
    "--online",
    is_flag=True,
    help="Allow reading a Hub base's metadata and small files from the Hugging Face Hub when it "
    "is not in the local cache (never weights; HF_HUB_OFFLINE=1 always wins).",
)


def text_or_json(help_text: str) -> Callable[[F], F]:
    """`--format text|json`, as every command that prints a result offers it."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help=help_text,
    )


MAX_ERROR_CHARS = 1000  # an error line quoting a 100 KB value shows its start


def error_line(text: str) -> str:
    """One line for stderr: control characters shown, long values cut."""
    text = " ".join("".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text).split())
    if len(text) > MAX_ERROR_CHARS:
        text = f"{text[:MAX_ERROR_CHARS]}… [{len(text) - MAX_ERROR_CHARS:,} more characters]"
    return f"modelcards: error: {text}"


def dev_addr(value: str) -> str:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise click.BadParameter(f"{value!r} is not IP:PORT (e.g. 127.0.0.1:8000)")
    return value


def fail_cleanly(func: F) -> F:
    """Turn a `ModelcardsError` into `modelcards: error: …` and exit 2; never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ModelcardsError as exc:
            click.echo(error_line(str(exc)), err=True)
            sys.exit(EXIT_USAGE)
        except (RecursionError, MemoryError, UnicodeError, ValueError, OSError) as exc:
            if os.environ.get("MODELCARDS_DEBUG"):
                raise
            click.echo(error_line(f"{type(exc).__name__}: {exc}"), err=True)
            sys.exit(EXIT_USAGE)

    return wrapper  # type: ignore[return-value]


def stderr_progress(quiet: bool) -> Callable[[str], None] | None:
    """Build's messages on stderr. Its counters (`[3/1000] name: ...`) only on a terminal, so a
    CI log of a fleet stays short; its notes (a base not compared, a model skipped) always."""
    if quiet:
        return None
    terminal = sys.stderr.isatty()

    def show(message: str) -> None:
        if terminal or not message.startswith("["):
            click.echo(message, err=True)

    return show


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="modelcards")
def cli() -> None:
    """Document what a fine-tune changed against its base model, what that risks, and where it
    came from: Hugging Face model cards, change logs and an audit site, read from the files.

    \b
    Typical use, in a repository holding fine-tuned models:
      modelcards init                          find models, guess their bases, write modelcards.yml
      modelcards build                         write README.md, CHANGES.md, card.json + the site
      modelcards diff base-model/ my-model/    compare two model folders right now
    """


def main() -> None:
    if hasattr(signal, "SIGPIPE"):  # `modelcards rules | head` ends quietly, like any Unix tool
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    try:
        code = cli.main(prog_name="modelcards", standalone_mode=False)
    except click.UsageError as exc:  # the same one line as every other error, and a pointer
        command = exc.ctx.command_path if exc.ctx else "modelcards"
        click.echo(error_line(f"{exc.format_message()} (see `{command} --help`)"), err=True)
        sys.exit(EXIT_USAGE)
    except click.ClickException as exc:
        click.echo(error_line(exc.format_message()), err=True)
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("modelcards: interrupted", err=True)
        sys.exit(130)
    if isinstance(code, int) and code:  # ctx.exit(code) returns it when not standalone
        sys.exit(code)
