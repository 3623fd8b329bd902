"""Write docs/cli.md from the commands' own --help (a test keeps the page in step)."""

from __future__ import annotations

import sys
from pathlib import Path

from click.testing import CliRunner

from modelcards.cli import cli


def cli_reference() -> str:
    runner = CliRunner()
    parts = [
        "# CLI reference",
        "",
        "Generated from `modelcards COMMAND --help` by `docs/gen_cli.py`.",
        "",
    ]
    for name in [None, *sorted(cli.commands)]:
        args = [name, "--help"] if name else ["--help"]
        text = runner.invoke(cli, args, prog_name="modelcards", terminal_width=100).output
        parts += [
            f"## `modelcards{' ' + name if name else ''}`",
            "",
            "```text",
            text.rstrip(),
            "```",
            "",
        ]
    return "\n".join(parts)


if __name__ == "__main__":
    target = Path(__file__).parent / "cli.md"
    target.write_text(cli_reference(), encoding="utf-8")
    sys.stdout.write(f"wrote {target}\n")
