"""Write docs/cli/: one page per command from its own --help, and an index (a test keeps them current).

python docs/gen_cli.py
"""

from __future__ import annotations

import sys
from pathlib import Path

from click.testing import CliRunner

from modelcards.cli import cli

CLI_DIR = Path(__file__).parent / "cli"


def _help(*args: str) -> str:
    result = CliRunner().invoke(cli, [*args, "--help"], prog_name="modelcards", terminal_width=100)
    return result.output.rstrip()


def cli_pages() -> dict[str, str]:
    """File name → content for every page under docs/cli/."""
    commands = sorted(cli.commands)
    index = [
        "# CLI reference",
        "",
        "Generated from the commands' own `--help` by `docs/gen_cli.py`.",
        "",
        "```text",
        _help(),
        "```",
        "",
        "| command | summary |",
        "|---|---|",
    ]
    pages = {}
    for name in commands:
        summary = cli.commands[name].get_short_help_str(limit=120)
        index.append(f"| [`modelcards {name}`]({name}.md) | {summary} |")
        pages[f"{name}.md"] = "\n".join(
            [
                f"# modelcards {name}",
                "",
                "```text",
                _help(name),
                "```",
                "",
                "[All commands](index.md)",
                "",
            ]
        )
    pages["index.md"] = "\n".join(index) + "\n"
    return pages


if __name__ == "__main__":
    CLI_DIR.mkdir(exist_ok=True)
    pages = cli_pages()
    for stale in CLI_DIR.glob("*.md"):
        if stale.name not in pages:
            stale.unlink()
    for name, text in pages.items():
        (CLI_DIR / name).write_text(text, encoding="utf-8")
    sys.stdout.write(f"wrote {len(pages)} pages to {CLI_DIR}\n")
