"""The governance checklist: the practices that make an open model safe to deploy.

Two items are evidenced by modelcards itself (the vulnerability scan and the documented
modifications); the others by a file or link the team names in modelcards.yml. A named file
must exist in the project; a link is taken as given.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from modelcards.assess.findings import Finding, ScanReport, Severity
from modelcards.assess.governance_items import ITEMS
from modelcards.assess.rules import RULES, Rule, finding

GOVERNANCE_RULES = (
    Rule("MC701", Severity.MEDIUM, "governance item required by policy is missing",
         "the governance checklist against policy.required in modelcards.yml",
         "The team decided this evidence must exist before a model ships.",
         "Add the evidence and name it under governance: in modelcards.yml."),
    Rule("MC702", Severity.MEDIUM, "card section required by policy is not written",
         "the human-written sections of the card named in policy.required_sections",
         "A card that leaves intended use or limitations blank invites misuse.",
         "Write the section in the model's README.md (outside the generated blocks)."),
)  # fmt: skip

RULES.add(GOVERNANCE_RULES)


@dataclass(frozen=True)
class ChecklistItem:
    id: str
    title: str
    evidenced: bool
    evidence: str | None  # what shows it: a file, a link, or what modelcards did
    required: bool

    def as_json(self) -> dict[str, object]:
        return {"id": self.id, "title": self.title, "evidenced": self.evidenced,
                "evidence": self.evidence, "required": self.required}  # fmt: skip


def checklist(
    *,
    project_root: Path,
    named: Mapping[str, str],
    required: tuple[str, ...],
    scan: ScanReport | None,
    changes: int | None,
    diff_partial: str | None = None,
) -> tuple[ChecklistItem, ...]:
    """`diff_partial`: what the diff could not see; a partial diff evidences nothing in full."""
    items = []
    for item_id, (title, _how) in ITEMS.items():
        if item_id == "vulnerability_scan":
            evidence = (
                None
                if scan is None
                else (
                    f"modelcards scanned {scan.files_scanned} files: "
                    + (f"worst finding {scan.worst.value}" if scan.worst else "no findings")
                    + (f"; {len(scan.partial)} not read in full" if scan.partial else "")
                )
            )
        elif item_id == "documented_modifications":
            evidence = (
                None if changes is None else f"modelcards diff: {changes} significant changes"
            )
            if evidence and diff_partial:
                items.append(ChecklistItem(item_id, title, False,
                                           f"{evidence}, in part only: {diff_partial}",
                                           item_id in required))  # fmt: skip
                continue
        else:
            evidence = _named_evidence(project_root, named.get(item_id))
        items.append(ChecklistItem(item_id, title, evidence is not None, evidence,
                                   item_id in required))  # fmt: skip
    return tuple(items)


def _named_evidence(project_root: Path, value: str | None) -> str | None:
    if not value:
        return None
    if "://" in value or value.startswith("mailto:") or "@" in value:
        return value
    target = (project_root / value).resolve()
    if target.is_relative_to(project_root.resolve()) and target.exists():
        return value
    return None  # a file that is not there evidences nothing


def missing_required(items: tuple[ChecklistItem, ...]) -> list[Finding]:
    return [
        finding(
            "MC701",
            "modelcards.yml",
            f"required governance item missing: {item.title}",
            {"item": item.id},
        )  # fmt: skip
        for item in items
        if item.required and not item.evidenced
    ]
