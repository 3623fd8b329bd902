"""Commands that read model files or what `build` wrote: `diff`, `scan`, `rules`, `export`
and `serve`."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from modelcards.cli.app import (
    cli,
    dev_addr,
    fail_cleanly,
    online_option,
    repo_option,
)


@cli.command()
@click.argument("base")
@click.argument("tuned", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
    help="text for people, json for scripts, markdown for PR comments.",
)
@click.option("--all", "show_all", is_flag=True, help="Also list insignificant differences (text).")
@click.option(
    "--deep",
    is_flag=True,
    help="Also compare tensor contents: which tensors changed and by how much (‖ΔW‖/‖W‖), per "
    "layer and module; streamed through memory maps, both cores, bounded memory.",
)
@online_option
@fail_cleanly
def diff(base: str, tuned: Path, fmt: str, show_all: bool, deep: bool, online: bool) -> None:
    """Compare a fine-tuned model folder TUNED with its BASE model.

    BASE is a folder, a git revision of this repository (git:REF:PATH, read from git objects
    without a checkout), or a Hub id org/name[@rev] (from the local Hugging Face cache, or with
    --online from the Hub: metadata, configs and safetensors headers only).

    Reads configs, tokenizer files, chat templates, adapter config, safetensors headers and
    training records; never loads weights or runs model code. Significant changes come first,
    grouped by area; serializer noise (library versions, default values) is set apart.

    \b
    Examples:
      modelcards diff base-model models/chat-tuned
      modelcards diff git:v1.0:models/chat-tuned models/chat-tuned
      modelcards diff TinyLlama/TinyLlama-1.1B-Chat-v1.0 my-lora --online
      modelcards diff base-model models/chat-tuned --format json | jq '.changes[] | select(.significant)'

    Exit status: 0 on success (whether or not anything changed), 2 on bad input.
    """
    from modelcards.api import inspected_pair
    from modelcards.compare import compare
    from modelcards.render.diff_view import diff_json, diff_markdown, diff_text

    base_snapshot, tuned_snapshot, base_facts, tuned_facts = inspected_pair(
        base, tuned, None, online
    )
    result = compare(base_facts, tuned_facts)
    weights = None
    if deep:
        from modelcards.compare.deep.run import deep_compare
        from modelcards.safeio.progress import progress_bar

        bar = progress_bar("deep compare")
        try:
            weights = deep_compare(
                base_facts, tuned_facts, base_snapshot, tuned_snapshot, progress=bar
            )
        finally:
            if bar:
                bar.close()
    if fmt == "json":
        click.echo(diff_json(result, weights), nl=False)
    elif fmt == "markdown":
        click.echo(diff_markdown(result, weights), nl=False)
    else:
        click.echo(
            diff_text(result, weights, show_all=show_all, color=sys.stdout.isatty()), nl=False
        )


@cli.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "sarif"]),
    default="text",
    show_default=True,
    help="json for scripts; sarif for code-scanning UIs (GitHub, GitLab).",
)
@click.option(
    "--fail-on",
    type=click.Choice(["critical", "high", "medium", "low", "info"]),
    default="high",
    show_default=True,
    help="Exit 1 when a finding is at or above this severity.",
)
@fail_cleanly
def scan(path: Path, fmt: str, fail_on: str) -> None:
    """Scan a model folder (or one file) for risks, without running anything from it.

    Pickles are read opcode by opcode and never unpickled: imports of code-running callables
    are critical, imports not on the allowlist of known ML types are "unverified" (medium).
    Pickles are found by content under any name, inside torch zip checkpoints, nested zips and
    numpy object arrays. safetensors files are checked against every rule of the format;
    auto_map and shipped *.py files (parsed, never imported) show remote code; Keras configs
    are checked for Lambda layers. `file` in the output is relative to PATH.

    \b
    Examples:
      modelcards scan models/chat-tuned
      modelcards scan downloads/pytorch_model.bin --format json
      modelcards scan models/ --format sarif > modelcards.sarif

    Exit status: 0 when nothing is at or above --fail-on, 1 when something is, 2 on bad usage.
    """
    from modelcards.assess import Severity
    from modelcards.assess.format import FORMATTERS
    from modelcards.assess.scan import scan_path

    if not path.exists() and not path.is_symlink():
        raise click.BadParameter(f"{path}: no such file or folder", param_hint="PATH")
    report = scan_path(path)
    click.echo(FORMATTERS[fmt](report), nl=False)
    sys.exit(1 if report.at_least(Severity.parse(fail_on)) else 0)


@cli.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
)
@fail_cleanly
def rules(fmt: str) -> None:
    """List every rule: id, default severity, what it checks and why it matters.

    Ids are stable, like a linter's: MC1xx pickles and archives, MC2xx safetensors validity,
    MC3xx remote code, MC4xx Keras/TF, MC5xx licences, MC6xx what the fine-tune changed,
    MC7xx governance. Waivers in modelcards.yml name these ids.
    """
    from modelcards.assess import RULES
    from modelcards.assess.format import rules_markdown

    ordered = sorted(RULES.values(), key=lambda r: r.id)
    if fmt == "json":
        data = [
            {"id": r.id, "severity": r.severity.value, "title": r.title, "checks": r.checks,
             "why": r.why, "recommendation": r.recommendation}
            for r in ordered
        ]  # fmt: skip
        click.echo(json.dumps(data, indent=2))
    elif fmt == "markdown":
        click.echo(rules_markdown(), nl=False)
    else:
        for rule in ordered:
            click.echo(f"{rule.id}  {rule.severity.value:<8}  {rule.title}")
            click.echo(f"        checks: {rule.checks}")
            click.echo(f"        why: {rule.why}")


@cli.command()
@click.argument("model")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["cyclonedx"]),
    default="cyclonedx",
    show_default=True,
    help="cyclonedx: a CycloneDX 1.6 ML-BOM (JSON).",
)
@repo_option
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of standard output.",
)
@click.option("--site-url", help="Where the audit site is published, to link the model's page.")
@fail_cleanly
def export(model: str, fmt: str, root: Path, output: Path | None, site_url: str | None) -> None:
    """Export MODEL (its name or folder in modelcards.yml) as a machine-readable BOM.

    The CycloneDX 1.6 BOM holds the model as a machine-learning-model component: its model card
    (task, architecture, datasets, evaluation metrics, known risks as considerations), the
    SHA-256 of every file, the base model as its pedigree (revision and hashes), and links to
    the card and change log. It is read fresh from the files, like `build`, and is the same
    bytes for the same inputs (no timestamp; the serial number derives from the content).

    \b
    Examples:
      modelcards export chat-tuned > chat-tuned.cdx.json
      modelcards export models/chat-tuned -o bom.json --site-url https://models.example.org

    Exit status: 0 on success, 2 on bad input or an unknown model.
    """
    from modelcards.api import export_cyclonedx
    from modelcards.export.cyclonedx import to_json
    from modelcards.project.config import load_config
    from modelcards.safeio.write import write_atomic

    text = to_json(export_cyclonedx(load_config(root), model, site_url=site_url))
    if output is None:
        click.echo(text, nl=False)
    else:
        write_atomic(output if output.is_absolute() else Path.cwd() / output, text)
        click.echo(f"wrote {output}", err=True)


@cli.command()
@repo_option
@click.option(
    "-a",
    "--dev-addr",
    default="127.0.0.1:8000",
    show_default=True,
    metavar="IP:PORT",
    callback=lambda _ctx, _param, value: dev_addr(value),
    help="Address to serve on; use 0.0.0.0:PORT to reach it from other machines.",
)
@click.option("--no-livereload", is_flag=True, help="Do not reload pages when files change.")
@fail_cleanly
def serve(root: Path, dev_addr: str, no_livereload: bool) -> None:
    """Preview the audit site: run the mkdocs dev server on the pages `build` generated.

    Serves `site.dir` (default modelcards-site/) with `mkdocs serve`; pages reload when a
    rebuild rewrites them, so run `modelcards build --no-site` in another terminal after
    changing a model. Stop it with Ctrl-C. For publishing, use the static `site/` folder
    that `modelcards build` writes instead.

    \b
    Examples:
      modelcards build && modelcards serve        then open http://127.0.0.1:8000/
      modelcards serve -a 0.0.0.0:8080            reachable from other machines
    """
    import subprocess

    from modelcards.project.config import load_config
    from modelcards.safeio.errors import PublishError

    config = load_config(root)
    config_file = config.root / config.site.dir / "mkdocs.yml"
    if not config_file.is_file():
        raise PublishError(
            "no generated site yet: run `modelcards build` first",
            file=f"{config.site.dir}/mkdocs.yml",
        )
    command = [sys.executable, "-m", "mkdocs", "serve", "-f", str(config_file), "-a", dev_addr]
    if no_livereload:
        command.append("--no-livereload")
    click.echo(f"serving {config.site.dir}/ at http://{dev_addr}/ (Ctrl-C stops)", err=True)
    try:
        result = subprocess.run(
            command, check=False, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"}
        )
    except KeyboardInterrupt:
        return
    if result.returncode not in (0, -2, 130):
        sys.exit(result.returncode)
