"""What `init` writes and prints: the commented modelcards.yml, a summary for people or scripts."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelcards.project.discover.bases import BaseChoice

if TYPE_CHECKING:
    from modelcards.project.discover import Discovery, Guess

PLAIN = re.compile(r"[A-Za-z0-9_./][A-Za-z0-9_./@+-]*")
YAML_WORDS = frozenset(["null", "~", "true", "false", "yes", "no", "on", "off", "y", "n"])
HEADER = [
    "# modelcards configuration (written by `modelcards init`; edit freely, comments are kept).",
    "# Each model: `path` is its folder; `base` is what it was made from: a folder, a Hub id",
    "# `org/name[@revision]`, or {path: FOLDER, id: HUB_ID} when the files of a Hub model are",
    "# vendored in the repository (the card then names the Hub id as base_model). `base: null`",
    "# when no base is known here. Every guess below says where it came from: review them.",
]
FOOTER = [
    "# site:",
    "#   dir: modelcards-site   # generated Markdown pages and mkdocs.yml",
    "#   output: site           # the built HTML",
    "#   title: Model cards",
    "# card:                    # front-matter defaults for every card",
    "#   license: apache-2.0",
    "#   language: [en]",
]


def scalar(value: str) -> str:
    """A YAML scalar for `value`: plain when unambiguous, else double-quoted (JSON escapes)."""
    if PLAIN.fullmatch(value) and value.lower() not in YAML_WORDS and not _number(value):
        return value
    return json.dumps(value, ensure_ascii=False)


def _number(value: str) -> bool:
    try:
        float(value.replace("_", ""))
    except ValueError:
        return value.lower().startswith(("0x", "0o", "0b", ".inf", ".nan"))
    return True


def comment(text: str) -> str:
    return "".join(c if c.isprintable() else " " for c in text).strip()


def base_value(base: BaseChoice, root: Path) -> str | dict[str, str] | None:
    """The config's `base:` value for a guess (a Hub id that is also a folder name is a mapping)."""
    if base.kind == "none":
        return None
    if base.kind == "folder":
        assert base.path is not None
        return base.path
    assert base.id is not None
    spec = {"path": base.path} if base.kind == "vendored" and base.path else {}
    spec["id"] = base.id
    if base.revision:
        spec["revision"] = base.revision
    if base.kind == "hub" and not (root / base.id).exists():
        return f"{base.id}@{base.revision}" if base.revision else base.id
    return spec


def base_yaml(base: BaseChoice, root: Path) -> str:
    value = base_value(base, root)
    if value is None:
        return "null"
    if isinstance(value, str):
        return scalar(value)
    return "{" + ", ".join(f"{k}: {scalar(v)}" for k, v in value.items()) + "}"


def _name_note(model: Guess) -> str:
    if model.path == ".":
        return "the project folder's name (the model is at the project root)"
    return "another model folder has the same last part: named from more of its path"


def render_config(found: Discovery) -> str:
    lines = [*HEADER, "models:"]
    for model in found.models:
        lines.append(f"  - path: {scalar(model.path)}")
        if not model.name_is_default:
            lines.append(f"    name: {scalar(model.name)}  # {_name_note(model)}")
        for line in model.evidence:
            lines.append(f"    # {comment(line)}")
        if model.base.kind == "none":
            lines.append("    base: null  # no base known here: set a folder or a Hub id")
        else:
            lines.append(f"    base: {base_yaml(model.base, found.root)}")
    if found.skipped:
        lines += ["", "# Folders with model files that init did not take as models:"]
        lines += [f"#   {comment(s.path)}: {comment(s.reason)}" for s in found.skipped]
    return "\n".join([*lines, "", *FOOTER, ""])


def summary_text(found: Discovery, target: Path) -> str:
    count = len(found.models)
    lines = [f"wrote {target} with {count} model{'s' if count != 1 else ''}:"]
    for model in found.models:
        lines.append(
            f"  {model.path}  name: {model.name}  base: {base_yaml(model.base, found.root)}"
        )
        lines += [f"      {comment(line)}" for line in model.evidence]
    if found.skipped:
        lines.append("not taken as models:")
        lines += [f"  {comment(s.path)}: {comment(s.reason)}" for s in found.skipped]
    return "\n".join(lines) + "\n"


def summary_json(found: Discovery, target: Path) -> str:
    data: dict[str, Any] = {
        "config": str(target),
        "models": [
            {
                "path": m.path,
                "name": m.name,
                "base": base_value(m.base, found.root),
                "base_kind": m.base.kind,
                "evidence": m.evidence,
            }
            for m in found.models
        ],
        "skipped": [{"path": s.path, "kind": s.kind, "reason": s.reason} for s in found.skipped],
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
