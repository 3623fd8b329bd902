"""`modelcards check`: is every card, change log and site page what `build` would write now?

The fast path renders nothing: it recomputes each model's inputs fingerprint (hashes from the
cache and git, history from one `git log` per model) and compares it, and a hash of the
generated text, with what the card recorded. Only a stale model is rendered: so the reviewer
reads first what changed in substance (a new finding the policy does not accept, a changed
significant fact) and then that the card is stale, with the command that fixes it.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelcards.assess.findings import Severity
from modelcards.history import ProjectGit
from modelcards.inspect import CARD_OUTPUTS
from modelcards.project.config import ModelEntry, ProjectConfig
from modelcards.project.merge_identity import as_built
from modelcards.project.provider_policy import provider_problem
from modelcards.project.record import KeyMaker, read_record
from modelcards.project.site_check import check_site
from modelcards.project.state import (
    ModelState,
    ProjectReads,
    model_state,
    previous_context,
    previous_member,
    previous_output,
    project_lock,
    project_templates_digest,
    site_folders,
)
from modelcards.render.fingerprint import (
    front_matter_of,
    outputs_fingerprint,
    read_fingerprint,
)
from modelcards.resolve.gitcli import GitFailed, open_git_cli, resolve_commit
from modelcards.safeio.collector import fewer_collections
from modelcards.safeio.errors import ConfigError, ResolveError
from modelcards.safeio.hashcache import HashCache

REBUILD = "run `modelcards build` and commit the result"
POLICY_RULES = frozenset({"MC701", "MC702"})  # governance items and card sections policy requires


# what a problem is, in the order a reviewer reads them
KINDS = ("finding", "policy", "change", "stale", "pull-request", "site")


@dataclass(frozen=True)
class Problem:
    model: str | None  # None for the site
    file: str  # the project-relative file it concerns (the file to change, or the model file)
    reason: str
    diff: str | None = None
    kind: str = "stale"  # one of KINDS

    def as_json(self) -> dict[str, Any]:
        return {"model": self.model, "file": self.file, "reason": self.reason, "diff": self.diff,
                "kind": self.kind}  # fmt: skip


@dataclass(frozen=True)
class CheckReport:
    problems: tuple[Problem, ...]
    models: int
    rendered: int  # models that had to be rendered (the stale ones)
    prefix: str = ""  # the project root from the repository's top ("" or "sub/"), for annotations

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        """What `check --format json` prints."""
        return {
            "ok": self.ok,
            "models": self.models,
            "problems": [p.as_json() for p in self.problems],
        }


def changed_since(config: ProjectConfig, base_ref: str) -> set[str]:
    """Project-relative paths changed in BASE_REF...HEAD."""
    try:
        repo = open_git_cli(config.root)
        top = Path(repo.working_tree_dir or config.root).resolve()
    except ResolveError as exc:
        raise ConfigError(f"--base-ref needs a git repository: {exc}") from None
    try:
        base = resolve_commit(repo, base_ref)  # a ref is never read as an option
        listing = repo.git.diff(
            "--name-only", "-z", "--no-renames", "--no-ext-diff", "--no-textconv", f"{base}...HEAD"
        )
        names = [name for name in listing.split("\0") if name]
    except (ResolveError, GitFailed):
        raise ConfigError(
            f"--base-ref: unknown revision {base_ref!r} (fetch it, e.g. with fetch-depth: 0)"
        ) from None
    root = config.root.resolve()
    changed = set()
    for name in names:
        path = top / name
        if path.is_relative_to(root):
            changed.add(path.relative_to(root).as_posix())
    return changed


def _inputs_changed(
    config: ProjectConfig,
    entry: ModelEntry,
    base_folder: str | None,
    changed: set[str],
    base_ref: str | None,
) -> list[Problem]:
    """A model whose files changed in the pull request while its card did not."""
    folders = [entry.path, *([base_folder] if base_folder else [])]
    site = tuple(f"{Path(d).as_posix().strip('/')}/" for d in site_folders(config))
    touched = sorted(
        path
        for path in changed
        for folder in folders
        if (folder in ("", ".") or path.startswith(folder.rstrip("/") + "/"))
        and Path(path).name not in CARD_OUTPUTS
        and not path.startswith(site)
    )
    if not touched or f"{entry.path}/README.md" in changed:
        return []
    shown = ", ".join(touched[:5]) + (" …" if len(touched) > 5 else "")
    reason = f"model files changed in {base_ref}...HEAD ({shown}) but its card did not; {REBUILD}"
    return [Problem(entry.name, touched[0], reason, kind="pull-request")]


def _what_changed(state: ModelState, card_json: str | None) -> str:
    """Name the files that differ from the manifest the card was built from."""
    provenance = previous_context(card_json).get("provenance")
    recorded = provenance.get("files") if isinstance(provenance, dict) else None
    if not isinstance(recorded, list):
        return "its inputs changed"
    before = {
        f["path"]: f.get("sha256")
        for f in recorded
        if isinstance(f, dict) and isinstance(f.get("path"), str)
    }
    now = {f.path: f.sha256 for f in state.files}
    names = sorted(p for p in set(before) | set(now) if before.get(p) != now.get(p))
    if not names:
        sources = "a merge source, " if state.merge_sources else ""
        return f"its base, {sources}history, configuration, templates or front matter changed"
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return f"{shown} changed since the card was built"


def _unified(path: str, old: str | None, new: str) -> str:
    return "".join(
        difflib.unified_diff(
            (old or "").splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile=f"a/{path}",
            tofile=f"b/{path} (what build would write)",
        )
    )


@fewer_collections()
def check_project(
    config: ProjectConfig,
    *,
    cache: HashCache,
    base_ref: str | None = None,
    show_diff: bool = False,
    online: bool = False,
) -> CheckReport:
    templates = project_templates_digest(config)
    changed = changed_since(config, base_ref) if base_ref else None
    git = ProjectGit(config.root)
    git.require_full_history()
    git.ask_ahead()  # every model's history is asked for
    lock = project_lock(config.root)
    problems: list[Problem] = []
    rendered = 0
    cards: list[tuple[str, str, str] | ModelEntry] = []  # an entry: a card not read (yet)
    env = None  # made for the first stale card: a current one renders nothing
    reads = None
    record = read_record(config)
    keys = KeyMaker(config, git, cache, lock) if record is not None else None
    for entry in config.models:
        if (
            record is not None
            and keys is not None
            and record.current(entry.path, keys.model(entry))
        ):
            cards.append(entry)  # what its key names is what build recorded: current
            risks = record.models[entry.path][1]
            if changed is not None:
                base_folder = keys.base_folder(entry)
                problems.extend(_inputs_changed(config, entry, base_folder, changed, base_ref))
            problems.extend(_policy_problems(config, entry, risks, recorded_risks=risks))
            problems.extend(_signature_problems(config, entry))
            if config.policy.require_provider_details != "never":  # its card.json is current
                recorded_json = previous_output(config, config.root / entry.path / "card.json")
                problems.extend(_provider_problems(config, entry, recorded_json))
            continue
        reads = reads or ProjectReads.of(config)
        state = model_state(config, entry, cache, git, online=online, lock=lock, reads=reads)
        card_path = f"{entry.path}/README.md"
        card = state.existing_card
        folder = config.root / entry.path
        changes = previous_output(config, folder / "CHANGES.md", reads.real_root)
        card_json = previous_output(config, folder / "card.json", reads.real_root)
        state = as_built(config, state, cache, git, card_json)  # a deep merge card: its sources
        cards.append((card or "", changes or "", card_json or ""))
        stale: list[Problem] = []
        recorded = read_fingerprint(card) if card is not None else None
        if card is None:
            stale.append(Problem(entry.name, card_path, f"no card yet: {REBUILD}"))
        elif recorded is None:
            stale.append(
                Problem(entry.name, card_path, f"the card has no modelcards fingerprint: {REBUILD}")
            )
        else:
            inputs = state.fingerprint(config, templates, front_matter_of(card))
            if inputs != recorded[0]:
                stale.append(
                    Problem(
                        entry.name,
                        card_path,
                        f"stale card: {_what_changed(state, card_json)}; {REBUILD}",
                    )
                )
            elif outputs_fingerprint(card, changes or "", card_json or "") != recorded[1]:
                stale.append(
                    Problem(
                        entry.name,
                        card_path,
                        "generated parts of README.md, CHANGES.md or card.json were "
                        f"edited by hand (edit outside the generated blocks); {REBUILD}",
                    )
                )
            elif edited := _edited_document(config, entry, card_json):
                stale.append(Problem(entry.name, f"{entry.path}/{edited}", f"{edited} is not what "
                                     f"card.json says (edited by hand, or missing); {REBUILD}"))  # fmt: skip
        if changed is not None:
            base = state.base_snapshot
            base_folder = (
                base.ref.location if base is not None and base.ref.kind == "path" else None
            )
            problems.extend(_inputs_changed(config, entry, base_folder, changed, base_ref))
        fresh_json = card_json
        if stale:
            from modelcards.project.build import model_inputs, prepare
            from modelcards.render import make_environment, render_model

            rendered += 1
            env = env or make_environment(config.templates)
            model = render_model(
                model_inputs(config, prepare(config, state, git)),
                env,
                card,
                state.fingerprinter(config, templates),
            )
            fresh_json = model.card_json
            problems.extend(_changed_facts(entry, card_json, model.context))
            if show_diff:
                diffs = [
                    _unified(f"{entry.path}/{name}", old, new)
                    for name, old, new in (
                        ("README.md", card, model.card),
                        ("CHANGES.md", changes, model.changes),
                    )
                    if old != new
                ]
                stale = [Problem(p.model, p.file, p.reason, "".join(diffs) or None) for p in stale]
        problems.extend(stale)
        recorded_risks = _risks(card_json)
        risks = recorded_risks if fresh_json is card_json else _risks(fresh_json)
        problems.extend(_policy_problems(config, entry, risks, recorded_risks=recorded_risks))
        problems.extend(_signature_problems(config, entry))
        problems.extend(_provider_problems(config, entry, fresh_json))
    if keys is None or record is None or not record.site_current(keys.site()):
        read = [_card_files(config, c) if isinstance(c, ModelEntry) else c for c in cards]
        problems.extend(check_site(config, project_templates_digest(config, site=True), read))
    cache.save()
    ordered = sorted(problems, key=lambda p: KINDS.index(p.kind))  # stable: models keep order
    return CheckReport(tuple(ordered), len(config.models), rendered, _repo_prefix(config, git))


def _edited_document(config: ProjectConfig, entry: ModelEntry, card_json: str | None) -> str | None:
    """The first EU document file that differs from the Markdown its card.json's data makes
    (build writes them from it alone, so they are outputs the card's fingerprint does not hold)."""
    from modelcards.render.eu_markdown import document_files

    try:
        context = json.loads(card_json or "")
    except ValueError:
        return None  # a card.json that is no JSON fails the outputs fingerprint already
    if not isinstance(context, dict):
        return None
    for name, text in document_files(context).items():
        if previous_output(config, config.root / entry.path / name) != text:
            return name
    return None


def _provider_problems(
    config: ProjectConfig, entry: ModelEntry, card_json: str | None
) -> list[Problem]:
    missing = provider_problem(config, entry, card_json)
    return [Problem(entry.name, config.file, missing, kind="policy")] if missing else []


def _card_files(config: ProjectConfig, entry: ModelEntry) -> tuple[str, str, str]:
    """README.md, CHANGES.md and card.json of a model not read yet, for the site's check."""
    card, changes, card_json = (
        previous_output(config, config.root / entry.path / name) or ""
        for name in ("README.md", "CHANGES.md", "card.json")
    )
    return card, changes, card_json


def _repo_prefix(config: ProjectConfig, git: ProjectGit) -> str:
    if git.top is None:
        return ""
    rel = config.root.resolve().relative_to(git.top).as_posix()
    return "" if rel == "." else rel + "/"


MAX_FACTS = 10


def _changed_facts(
    entry: ModelEntry, card_json: str | None, fresh: dict[str, Any]
) -> list[Problem]:
    """Significant facts against the base that the rebuilt card states and the committed one
    does not (a new chat template, `use_cache false -> true`): what a reviewer must see."""

    def key(change: dict[str, Any]) -> tuple[str, str, str]:
        return (change["file"], change["key"], json.dumps(change["after"], sort_keys=True))

    try:
        recorded = previous_context(card_json)
        old = {key(c) for c in (recorded.get("diff") or {}).get("changes", [])}
    except (ValueError, TypeError, KeyError, AttributeError):
        old = set()
    problems = []
    for change in (fresh.get("diff") or {}).get("changes", []):
        if change["significant"] and key(change) not in old:
            where = f"{entry.path}/{change['file']}" if change["file"] != "weights" else entry.path
            problems.append(
                Problem(entry.name, where, f"changed: {change['meaning']}", kind="change")
            )
    if len(problems) > MAX_FACTS:
        more = len(problems) - MAX_FACTS
        problems = problems[:MAX_FACTS] + [
            Problem(
                entry.name, f"{entry.path}/card.json", f"and {more} more changes", kind="change"
            )
        ]
    return problems


def _risks(card_json: str | None) -> list[Any]:
    risks = previous_member(card_json, "risks")
    return risks if isinstance(risks, list) else []


def _policy_problems(
    config: ProjectConfig, entry: ModelEntry, risks: list[Any], *, recorded_risks: list[Any]
) -> list[Problem]:
    """Findings the policy does not accept, from the card as it is or (for a stale card) as
    build would write it now; those the committed card does not record are marked new."""
    recorded = {  # as text: a hand-edited card.json may hold anything there
        (str(r.get("rule")), str(r.get("file")), str(r.get("message")))
        for r in recorded_risks
        if isinstance(r, dict)
    }
    problems = []
    for risk in risks:
        if not isinstance(risk, dict) or risk.get("waived"):
            continue
        try:
            severity = Severity.parse(str(risk.get("severity")))
        except ValueError:
            continue
        rule, file = str(risk.get("rule")), str(risk.get("file"))
        where = file if file == config.file or file == "modelcards.yml" else f"{entry.path}/{file}"
        new = "" if (rule, file, str(risk.get("message"))) in recorded else "new, "
        if risk.get("waiver_expired"):
            waiver = risk.get("waiver")
            expires = waiver.get("expires") if isinstance(waiver, dict) else None
            reason = f"{rule} waiver expired on {expires}: {risk.get('message')}"
        elif severity >= config.policy.fail_on:
            reason = f"{rule} ({new}{severity.value}, not waived): {risk.get('message')}"
        elif rule in POLICY_RULES:
            reason = f"{rule} ({new}required by policy): {risk.get('message')}"
        else:
            continue
        kind = "policy" if rule in POLICY_RULES or risk.get("waiver_expired") else "finding"
        problems.append(Problem(entry.name, where, reason, kind=kind))
    return problems


def _signature_problems(config: ProjectConfig, entry: ModelEntry) -> list[Problem]:
    """With `policy.require_signature`: each file of the model or its card that model.sig and
    card.sig do not vouch for, checked against the model's keyless signer or else with
    `policy.signing_key` (model files hashed afresh)."""
    if not config.policy.require_signature:
        return []
    from modelcards.export.signing import verify_folder
    from modelcards.project.base_signing import signature_check

    against = signature_check(config, entry)
    result = verify_folder(config.root / entry.path, against, model=entry.name, label=entry.path)
    return [
        Problem(entry.name, f"{entry.path}/{p.file}", f"signature: {p.what}", kind="policy")
        for p in result.problems
    ]


def summary(report: CheckReport) -> str:
    plural = "s" if report.models != 1 else ""
    if report.ok:
        return f"ok: {report.models} model{plural} checked, every card is current"
    count = len(report.problems)
    affected = len({p.model for p in report.problems if p.model is not None})
    return (
        f"{count} problem{'s' if count != 1 else ''} in "
        f"{affected} of {report.models} model{plural}"
        + (", and the site" if any(p.model is None for p in report.problems) else "")
    )


def format_text(report: CheckReport) -> str:
    lines = [f"{p.model or 'site'}: {p.file}: {p.reason}" for p in report.problems]
    lines += [p.diff.rstrip("\n") for p in report.problems if p.diff]
    return "\n".join([*lines, summary(report)]) + "\n"


def format_json(report: CheckReport) -> str:
    return json.dumps(report.as_json(), indent=2) + "\n"


TITLES = {
    "finding": "modelcards: a finding the policy does not accept",
    "policy": "modelcards: required by policy",
    "change": "modelcards: changed against the base",
    "stale": "modelcards: stale card",
    "pull-request": "modelcards: model changed without its card",
    "site": "modelcards: stale site",
}


def format_github(report: CheckReport) -> str:
    """GitHub Actions workflow commands: one `::error` (or `::warning` for a changed fact)
    annotation per problem, on the file from the repository's top, as GitHub shows it."""

    def data(text: str) -> str:
        return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")

    def prop(text: str) -> str:
        return data(text).replace(":", "%3A").replace(",", "%2C")

    lines = []
    for p in report.problems:
        level = "warning" if p.kind == "change" else "error"
        line = ",line=1" if p.file.endswith(("README.md", "CHANGES.md")) else ""
        where = prop(report.prefix + p.file)
        text = data((f"{p.model}: " if p.model else "") + p.reason)
        lines.append(f"::{level} file={where}{line},title={prop(TITLES[p.kind])}::{text}")
    return "\n".join([*lines, summary(report)]) + "\n"


def format_markdown(report: CheckReport) -> str:
    """A job summary a reviewer reads in ten seconds: per model, what changed in substance
    first, then what to run; with --diff, the card's diff folded under each model."""
    icon = "✅" if report.ok else "❌"
    lines = ["## modelcards check", "", f"{icon} {summary(report)}."]
    by_model: dict[str, list[Problem]] = {}
    for p in report.problems:
        by_model.setdefault(p.model or "site", []).append(p)
    for model, problems in by_model.items():
        lines += ["", f"### {model}", "", "| | File | What |", "|---|---|---|"]
        for p in problems:
            cells = [p.kind, f"`{report.prefix}{p.file}`", p.reason]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        for p in problems:
            if p.diff:
                fence = "````" if "```" in p.diff else "```"
                lines += ["", "<details><summary>What build would write</summary>", "",
                          f"{fence}diff", p.diff.rstrip("\n"), fence, "", "</details>"]  # fmt: skip
    return "\n".join(lines) + "\n"
