"""assess: facts, diff and policy → findings with evidence, waivers applied, and a checklist.

The names below load on first use: assessing a model pulls in every rule module and the
scanners, and `check` of a current card, which only reads findings back, should not pay for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelcards.safeio.lazy import lazy_names

if TYPE_CHECKING:
    from modelcards.assess.assessment import Assessment, assess_model
    from modelcards.assess.findings import Finding, ScanReport, Severity
    from modelcards.assess.policy import Policy, Waiver, failing
    from modelcards.assess.rules import RULES, Rule, finding

__all__ = [
    "RULES",
    "Assessment",
    "Finding",
    "Policy",
    "Rule",
    "ScanReport",
    "Severity",
    "Waiver",
    "assess_model",
    "failing",
    "finding",
]

_HOME = {
    "Assessment": "modelcards.assess.assessment",
    "assess_model": "modelcards.assess.assessment",
    "Finding": "modelcards.assess.findings",
    "ScanReport": "modelcards.assess.findings",
    "Severity": "modelcards.assess.findings",
    "Policy": "modelcards.assess.policy",
    "Waiver": "modelcards.assess.policy",
    "failing": "modelcards.assess.policy",
    "RULES": "modelcards.assess.rules",
    "Rule": "modelcards.assess.rules",
    "finding": "modelcards.assess.rules",
}


__getattr__ = lazy_names(__name__, _HOME)
