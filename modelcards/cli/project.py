"""Commands on the project: `init`, `build`, `check` and `lock`."""

from __future__ import annotations

import json
import posixpath
import sys
from pathlib import Path
from typing import Any

import click

from modelcards.cli.app import (
    EXIT_USAGE,
    cli,
    fail_cleanly,
    online_option,
    repo_option,
    stderr_progress,
    text_or_json,
)


@cli.command()
@repo_option
@click.option("--force", is_flag=True, help="Replace an existing modelcards.yml.")
@text_or_json(
    "json prints the models (path, name, base, evidence) and the skipped folders for scripts."
)
@fail_cleanly
def init(root: Path, force: bool, fmt: str) -> None:
    """Find model folders under the project root and write a commented modelcards.yml.

    A model folder holds config.json (a transformers config) or adapter_config.json. Not taken
    as models, each with the reason: sentence-transformers modules listed in a modules.json,
    training checkpoints inside a model folder (checkpoint-N, last-checkpoint), lone copies of a
    config.json inside a model folder, and folders that are another model's base. A model at
    the project root is named after the project folder; names are made unique.

    Each model's base is guessed, most trusted first, from adapter_config.json
    (base_model_name_or_path), the README front matter (base_model) or config.json
    (_name_or_path); disagreements are noted. A Hub id whose files are in a folder of the
    project (its README or name says so) is written as {path: FOLDER, id: HUB_ID}; a path of
    the training machine is never written as the base (base: null, with a suggestion). Only
    small JSON files and the README front matter are read: an unreadable file is reported, it
    does not stop init. Review the file: every guess says where it came from.
    """
    from modelcards.project.discover import init_project, render_config, summary_json, summary_text
    from modelcards.safeio.write import write_atomic

    target, found = init_project(root, force=force)
    write_atomic(target, render_config(found))
    summary = summary_json if fmt == "json" else summary_text
    click.echo(summary(found, target), nl=False)


@cli.command()
@repo_option
@click.option("--no-site", is_flag=True, help="Write cards and change logs, but not the site.")
@click.option(
    "--at",
    metavar="REV",
    help="Rebuild the cards as they were at a git revision (a release tag), from git objects; "
    "written under --out, leaving the work tree and the site alone.",
)
@click.option(
    "--out",
    metavar="DIR",
    help="With --at: the folder to write into, relative to the project root "
    "[default: modelcards-releases/REV].",
)
@text_or_json("json prints a summary object for scripts.")
@click.option(
    "-q",
    "--quiet",
    is_flag=True,
    help="Only the summary line and warnings. Otherwise each model written gets a line, and "
    "notes go to stderr; counters ([3/1000] ...) appear only on a terminal.",
)
@click.option(
    "--deep",
    is_flag=True,
    help="Also compare tensor contents against the base: a per-layer table and a heatmap "
    "(weight-changes.svg) in each card. `deep: true` in the config does it on every build.",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    metavar="N",
    help="Render the cards in N processes side by side, and build a large site in up to N "
    "mkdocs shards [default: every CPU core this process may use]. Git reads, hashing and "
    "--deep stay in the main process; the files are the same bytes for any N. "
    "--jobs 1 renders one model after another, in this process.",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Exit 1 when a configured base could not be compared (not cached, offline); by "
    "default the card says so, a warning is printed and build exits 0.",
)
@click.option(
    "--shard",
    metavar="K/N",
    callback=lambda _ctx, _param, value: shard_option(value),
    help="Build the K-th of N equal parts of the models (their cards and site pages), for a CI "
    "matrix of N jobs; `modelcards site merge` joins the N sites into one. The parts are the "
    "same on every machine.",
)
@online_option
@fail_cleanly
def build(
    root: Path,
    no_site: bool,
    at: str | None,
    out: str | None,
    fmt: str,
    quiet: bool,
    deep: bool,
    jobs: int | None,
    shard: tuple[int, int] | None,
    online: bool,
    strict: bool,
) -> None:
    """Write every model's card (README.md), CHANGES.md and card.json, then build the site.

    For each model in modelcards.yml: diff it against its base, render the card from the
    templates (a project can override any of them), keep what people wrote in the card's human
    sections and front matter, and write only files whose bytes changed. Then write the site's
    Markdown pages and mkdocs.yml into `site.dir` and run `mkdocs build --strict`.

    Each card says what it rests on: whether the base was compared (or only named: not
    cached, offline, a path on the training machine) and how much of the weights was there
    (all read, N of M shards, Git-LFS pointers only, absent). A model whose files cannot be
    read is listed with the file and the reason; the other cards are still written, and build
    exits 2 at the end.

    Exit status: 0 cards written; 1 with --strict when a base was not compared; 2 bad input
    or configuration, or a model that could not be documented.

    \b
    Examples:
      modelcards build                     # cards + site, from the current folder
      modelcards build -C path/to/repo --no-site
      modelcards build --at chat-tuned/v1.0   # the cards of a past release
      modelcards build --jobs 1            # one process (e.g. to profile, or on a busy CI box)
      modelcards build --shard 2/10        # job 2 of a 10-job CI matrix (docs/ci.md)
    """
    from modelcards.project.build import build_project, release_folder
    from modelcards.project.config import load_config
    from modelcards.safeio.hashcache import HashCache, default_cache_file

    config = load_config(root)
    if out is not None and at is None:
        raise click.UsageError("--out goes with --at")
    if at is not None and out is None:
        out = release_folder(at)
    if shard is not None and (at is not None or no_site):
        raise click.UsageError("--shard builds a part of the site: not with --at or --no-site")
    report = build_project(
        config,
        cache=HashCache(default_cache_file()),
        site=not no_site,
        online=online,
        at=at,
        out=out,
        progress=stderr_progress(quiet or fmt == "json"),
        deep=deep,
        jobs=jobs,
        shard=shard,
    )
    not_compared = [
        m for m in report.models if m.context["coverage"]["base"]["state"] != "compared"
    ]
    written = _written_models(report.written, out)  # a fleet's no-change build says one line
    if fmt == "json":
        click.echo(json.dumps(report.as_json(config.root), indent=2))
    else:
        prefix = config.root / out if out else config.root
        for model in report.models:
            if not quiet and posixpath.normpath(model.path) in written:
                click.echo(f"{model.name}: {prefix / model.path / 'README.md'} ({_detail(model)})")
        count = len(report.written)
        click.echo(
            f"{len(report.models)} card{'s' if len(report.models) != 1 else ''}: "
            f"{count} file{'s' if count != 1 else ''} written, {len(report.unchanged)} unchanged"
            + (f", {len(not_compared)} without a base comparison" if not_compared else "")
        )
        if report.site and shard is not None:
            click.echo(
                f"site part {shard[0]}/{shard[1]}: {report.site} "
                "(join the parts with `modelcards site merge`)"
            )
        elif report.site:
            click.echo(f"site: {report.site / 'index.html'}")
    for model in not_compared:
        base = model.context["coverage"]["base"]
        if posixpath.normpath(model.path) in written and base["state"] in (
            "unavailable",
            "not-configured",
            "path-only",
        ):
            click.echo(f"modelcards: warning: {model.name}: base {base['summary']}", err=True)
    for failure in report.failed:
        click.echo(f"modelcards: error: {failure.name}: {failure.error}", err=True)
    if report.failed:
        click.echo(
            f"modelcards: {len(report.failed)} model{'s' if len(report.failed) != 1 else ''} "
            "could not be documented (the other cards were written)",
            err=True,
        )
        sys.exit(EXIT_USAGE)
    if strict and any(
        m.context["coverage"]["base"]["state"] == "unavailable" for m in not_compared
    ):
        click.echo(
            "modelcards: --strict: a configured base was not compared "
            "(`modelcards lock --online` pins it for offline builds)",
            err=True,
        )
        sys.exit(1)


def shard_option(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    number, _, count = value.partition("/")
    if not (number.isdigit() and count.isdigit() and 1 <= int(number) <= int(count)):
        raise click.BadParameter(f"{value!r}: give K/N with 1 ≤ K ≤ N, e.g. 2/10")
    return int(number), int(count)


def _detail(model: Any) -> str:
    coverage = model.context["coverage"]
    significant = (model.context["diff"] or {}).get("summary", {}).get("significant")
    parts = [
        f"{significant} significant changes vs base"
        if significant is not None
        else f"base {coverage['base']['state']}"
    ]
    from modelcards.project.build import finding_counts

    counts = finding_counts(model)
    if counts:
        parts.append(", ".join(f"{n} {severity}" for severity, n in counts.items()))
    if coverage["weights"]["state"] != "complete":
        parts.append(f"weights {coverage['weights']['state']}")
    return "; ".join(parts)


@cli.command()
@repo_option
@click.option(
    "--base-ref",
    metavar="REF",
    help="Also fail when a model's files changed in REF...HEAD (e.g. origin/main in a "
    "pull request) but its card did not.",
)
@click.option(
    "--diff",
    "show_diff",
    is_flag=True,
    help="Render stale models and print the unified diff of what build would write.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "github", "markdown"]),
    default="text",
    show_default=True,
    help="github prints ::error annotations for GitHub Actions; markdown a job summary.",
)
@click.option(
    "--summary",
    "summary_file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Also append the markdown job summary to FILE (e.g. $GITHUB_STEP_SUMMARY), from "
    "the same run.",
)
@click.option(
    "--report",
    "report_file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Also write the json report to FILE, from the same run.",
)
@online_option
@fail_cleanly
def check(
    root: Path,
    base_ref: str | None,
    show_diff: bool,
    fmt: str,
    online: bool,
    summary_file: Path | None,
    report_file: Path | None,
) -> None:
    """Fail when a card, change log or site page is not what `build` would write now.

    The pull-request gate. For every model in modelcards.yml it recomputes the fingerprint of
    what the card is made from (model and base files, config, templates, history, front matter)
    and compares it with the one recorded in the card — no rendering, no re-hashing of
    unchanged files — and checks that no generated text was edited by hand. The site folder is
    checked when it is kept in the project. It also fails on a finding the policy does not
    accept (at or above policy.fail_on and not waived), an expired waiver, and a governance item
    or card section the policy requires.

    \b
    Examples:
      modelcards check                              # before committing
      modelcards check --base-ref origin/main --format github   # in a pull request
      modelcards check --diff                       # show what build would change
      modelcards check --format github --summary "$GITHUB_STEP_SUMMARY"   # one run, both

    A reviewer reads first what changed in substance: a new finding the policy does not
    accept (on the file it is in), a significant fact that changed against the base; then
    that a card is stale, with the command that fixes it. A shallow clone is an error
    (fetch full history): a card is never called stale because history is missing.

    Exit status: 0 when everything is current, 1 when something is stale (each problem names
    the model, the file and why), 2 on a usage or configuration error.
    """
    from modelcards.project.check import (
        check_project,
        format_github,
        format_json,
        format_markdown,
        format_text,
    )
    from modelcards.project.config import load_config
    from modelcards.safeio.hashcache import HashCache, default_cache_file

    config = load_config(root)
    report = check_project(
        config,
        cache=HashCache(default_cache_file()),
        base_ref=base_ref,
        show_diff=show_diff,
        online=online,
    )
    formatters = {"json": format_json, "github": format_github, "markdown": format_markdown}
    formatter = formatters.get(fmt, format_text)
    click.echo(formatter(report), nl=False)
    if summary_file is not None:
        with open(summary_file, "a", encoding="utf-8") as handle:
            handle.write(format_markdown(report))
    if report_file is not None:
        from modelcards.safeio.write import write_atomic

        write_atomic(report_file, format_json(report))
    sys.exit(0 if report.ok else 1)


@cli.command()
@repo_option
@click.option(
    "--online",
    is_flag=True,
    help="Resolve each base on the Hugging Face Hub (its metadata, small files and safetensors "
    "headers; never weights) instead of the local Hugging Face cache.",
)
@click.option(
    "--check",
    "check_only",
    is_flag=True,
    help="Write nothing: exit 1 when a base given by Hub id has no entry in modelcards.lock, "
    "or one for another revision than the config asks for (for CI).",
)
@click.option(
    "--update",
    "only",
    metavar="ID",
    help="Resolve only this base again (a Hub id, or id@revision); the other entries are kept. "
    "Bases missing from the lock are always resolved. [default: resolve every base again]",
)
@text_or_json("json prints one object for scripts.")
@fail_cleanly
def lock(root: Path, online: bool, check_only: bool, only: str | None, fmt: str) -> None:
    """Pin every Hub-id base to a commit in modelcards.lock, so builds read it offline.

    For each model in modelcards.yml whose base is a Hub id (`base: org/name[@rev]`, or
    `base: {id: ...}` without `path`), resolve the base from the local Hugging Face cache (or
    with --online from the Hub) and record in modelcards.lock, at the project root: the commit
    sha, every file with its size and hash, the text of the small files the diff reads
    (configs, tokenizer files, chat templates, README.md; at most 1 MiB each) and the header of
    every safetensors file — never weights. Commit the file: `build` and `check` then read the
    base from it, with no network and no cache, and re-locking a base makes its cards stale.
    Entries no model uses any more are dropped. The file is the same bytes for the same bases.

    \b
    Examples:
      modelcards lock --online                    # lock every Hub base, from the Hub
      modelcards lock                             # the same, from the Hugging Face cache
      modelcards lock --online --update TinyLlama/TinyLlama-1.1B-Chat-v1.0
      modelcards lock --check                     # in CI: is every base locked?

    Exit status: 0 when every base is locked; 1 with --check when one is not (or for another
    revision); 2 on bad input, or when a base could not be resolved (the others are written).
    """
    from modelcards.project.config import load_config
    from modelcards.project.lock import check_lock, update_lock
    from modelcards.resolve.lock import LOCK_NAME

    config = load_config(root)
    if check_only:
        if only is not None or online:
            raise click.UsageError("--check only reads modelcards.lock: no --update or --online")
        results, unused = check_lock(config)
        ok = all(r.status == "ok" for r in results)
        if fmt == "json":
            data = {
                "lock": LOCK_NAME,
                "ok": ok,
                "bases": [r.as_json() for r in results],
                "unused": list(unused),
            }
            click.echo(json.dumps(data, indent=2))
        else:
            for result in results:
                revision = f"  {result.revision}" if result.revision else ""
                click.echo(f"{result.status}  {result.key}{revision}  ({result.detail})")
            for key in unused:
                click.echo(f"unused  {key}  (no model uses it; `modelcards lock` drops it)")
            if not results:
                click.echo("no model has a base given by Hub id: nothing to lock")
        sys.exit(0 if ok else 1)
    report = update_lock(config, online=online, only=only)
    for base in report.failed:
        click.echo(f"modelcards: error: {base.key}: {base.error}", err=True)
    if fmt == "json":
        data = {
            "lock": LOCK_NAME,
            "written": report.written,
            "bases": [b.as_json() for b in report.bases],
            "dropped": list(report.dropped),
            "replaced_invalid": report.replaced_invalid,
        }
        click.echo(json.dumps(data, indent=2))
    else:
        if report.replaced_invalid:
            click.echo(f"{LOCK_NAME} was not valid ({report.replaced_invalid}): written anew")
        for base in report.bases:
            entry = base.entry
            if base.status == "failed":
                kept = f" (kept the entry for {entry.revision})" if entry else ""
                click.echo(f"failed  {base.key}: not locked{kept}")
                continue
            assert entry is not None
            headers = len(entry.safetensors_headers)
            missing = ", ".join(
                f"{n.path} ({n.size:,} bytes: {n.reason})" for n in entry.not_locked
            )
            click.echo(
                f"{base.status}  {base.key}  {entry.revision}  {len(entry.files)} files, "
                f"{len(entry.contents)} texts, {headers} safetensors "
                f"header{'s' if headers != 1 else ''}; not locked: {missing or 'none'}"
            )
        for key in report.dropped:
            click.echo(f"dropped  {key}  (no model uses it any more)")
        if not report.bases and not report.dropped and not report.written:
            click.echo("no model has a base given by Hub id: nothing to lock")
            return
        count = sum(1 for b in report.bases if b.entry is not None)
        state = "wrote" if report.written else "unchanged:"
        click.echo(f"{state} {LOCK_NAME} ({count} base{'s' if count != 1 else ''})")
    if report.failed:
        sys.exit(EXIT_USAGE)


def _written_models(written: tuple[str, ...], out: str | None) -> set[str]:
    """The model folders (as in modelcards.yml) a build wrote a file into: only those are
    listed, so a rebuild of 1,000 models where one changed prints that one."""
    folders = {posixpath.dirname(posixpath.normpath(path)) or "." for path in written}
    if out is not None:
        prefix = posixpath.normpath(out)
        folders = {
            posixpath.relpath(f, prefix)
            for f in folders
            if f == prefix or f.startswith(prefix + "/")
        }
    return {posixpath.normpath(f) for f in folders}
