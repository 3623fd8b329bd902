"""One model assessed: every rule module's findings, the scan's, waivers applied, and a checklist."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from modelcards.assess.claim_rules import claim_findings
from modelcards.assess.diff_rules import diff_findings, origin_findings
from modelcards.assess.evaluation_rules import evaluation_findings
from modelcards.assess.findings import Finding, ScanReport
from modelcards.assess.governance import ChecklistItem, checklist, missing_required
from modelcards.assess.licence_family import base_licence
from modelcards.assess.lineage_rules import lineage_findings
from modelcards.assess.merge_rules import merge_findings
from modelcards.assess.policy import AssessedFinding, Policy, Waiver, apply_waivers
from modelcards.assess.rules import finding
from modelcards.assess.scan import scan_path
from modelcards.assess.scan.licence import licence_findings
from modelcards.assess.task_rules import task_findings
from modelcards.compare.deep import DeepDiff
from modelcards.compare.deep.merge_check import SourceCheck
from modelcards.compare.model import ModelDiff
from modelcards.inspect.card import split_front_matter
from modelcards.inspect.facts import ModelFacts

PLACEHOLDER = "[More Information Needed]"


@dataclass(frozen=True)
class Assessment:
    findings: tuple[AssessedFinding, ...]  # most severe first
    checklist: tuple[ChecklistItem, ...]
    scan: ScanReport | None  # None when the files could not be scanned (a build --at)


def assess_model(
    *,
    name: str,
    folder: Path | None,
    project_root: Path,
    tuned: ModelFacts,
    base: ModelFacts | None,
    diff: ModelDiff | None,
    licence: str | None,
    base_has_hub_id: bool,
    card_text: str | None,
    governance: Mapping[str, str],
    policy: Policy,
    waivers: tuple[Waiver, ...],
    on: dt.date,
    exclude: frozenset[str],
    configured_base: bool = False,
    configured_id: str | None = None,
    configured_path: str | None = None,
    base_unavailable: str | None = None,
    diff_partial: str | None = None,
    deep: DeepDiff | None = None,
    merge_sources: tuple[SourceCheck, ...] = (),
) -> Assessment:
    """Every finding for one model. `licence` is the licence the card states (own or inherited).

    `configured_base`/`configured_id`/`configured_path`: the base modelcards.yml gives (a base
    whose card is not read is judged by its family's known licence, `licence_family.py`); `base_unavailable`: why
    it could not be read; `diff_partial`: what the diff could not see (the weights' coverage);
    `deep`: the tensor contents compared (--deep), judged for whether they derive from the base;
    `merge_sources`: a mergekit merge's sources, each judged against the merge.
    """
    scan = scan_path(folder, exclude=exclude) if folder is not None else None
    found: list[Finding] = list(scan.findings) if scan else []
    found += lineage_findings(
        tuned,
        configured=configured_base,
        configured_id=configured_id,
        base_unavailable=base_unavailable,
    )
    found += task_findings(tuned)
    found += evaluation_findings(tuned)
    if diff is not None:
        found += diff_findings(diff, tuned, base, base_has_hub_id=base_has_hub_id)
    found += origin_findings(deep)
    found += merge_findings(merge_sources)
    found += claim_findings(tuned, base, configured_id=configured_id)
    known = base_licence(base, tuned, configured_id, configured_path)
    if base is not None or known.license:
        base_meta = base.card.metadata if base is not None and base.card else {}
        family = known.source if known.family else None  # a base card's licence needs no label
        found += licence_findings(known.license, licence, base_meta, base_source=family)
    items = checklist(
        project_root=project_root,
        named=governance,
        required=policy.required,
        scan=scan,
        changes=len(diff.significant) if diff else None,
        diff_partial=diff_partial,
    )
    found += missing_required(items)
    found += _missing_sections(card_text, policy.required_sections)
    ordered = sorted(set(found), key=lambda f: (-f.severity.rank, f.rule, f.file, f.message))
    return Assessment(tuple(apply_waivers(name, ordered, waivers, on)), items, scan)


def _missing_sections(card_text: str | None, required: tuple[str, ...]) -> list[Finding]:
    """Headings a person must fill in: absent, empty or still the template's placeholder."""
    _, body = split_front_matter(card_text or "")
    missing = []
    for title in required:
        match = re.search(rf"^#+\s*{re.escape(title)}\s*$(?P<text>.*?)(?=^#+\s|\Z)", body,
                          re.MULTILINE | re.DOTALL | re.IGNORECASE)  # fmt: skip
        text = re.sub(r"<!--.*?-->", "", match.group("text"), flags=re.DOTALL) if match else ""
        if not text.strip() or text.strip() == PLACEHOLDER:
            missing.append(finding("MC702", "README.md", f"section '{title}' is not written",
                                   {"section": title}))  # fmt: skip
    return missing
