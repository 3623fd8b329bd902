"""Assess: turn facts about model files into findings with evidence (risk scanners live here)."""

from __future__ import annotations

from modelcards.assess.findings import Finding, ScanReport, Severity
from modelcards.assess.rules import RULES, Rule, finding

__all__ = ["RULES", "Finding", "Rule", "ScanReport", "Severity", "finding"]
