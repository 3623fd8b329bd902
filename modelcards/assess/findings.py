"""What a scan found: typed, ordered, deterministic values that every formatter can print.

A finding is a fact about one file with the evidence that proves it; it never says "safe".
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

EvidenceValue = str | int | float | bool | None | list[str] | list[int]


class Severity(enum.Enum):
    """Ordered so that `max()` and `>=` work: CRITICAL > HIGH > MEDIUM > LOW > INFO."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank < other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank <= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank > other.rank

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank >= other.rank

    @classmethod
    def parse(cls, text: str) -> Severity:
        return cls(text.strip().lower())


_RANK = {
    Severity.INFO: 0,
    Severity.LOW: 1,
    Severity.MEDIUM: 2,
    Severity.HIGH: 3,
    Severity.CRITICAL: 4,
}


@dataclass(frozen=True)
class Finding:
    """One rule matched one file; `evidence` holds the values a reviewer can check by hand."""

    rule: str
    severity: Severity
    file: str
    message: str
    evidence: dict[str, EvidenceValue] = field(default_factory=dict)
    recommendation: str = ""

    def __hash__(self) -> int:  # evidence is a dict: hash its sorted items instead
        return hash(
            (
                self.rule,
                self.severity,
                self.file,
                self.message,
                repr(sorted(self.evidence.items())),
                self.recommendation,
            )
        )

    def sort_key(self) -> tuple[Any, ...]:
        return (
            self.file,
            -self.severity.rank,
            self.rule,
            self.message,
            sorted((k, str(v)) for k, v in self.evidence.items()),
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity.value,
            "file": self.file,
            "message": self.message,
            "evidence": {k: self.evidence[k] for k in sorted(self.evidence)},
            "recommendation": self.recommendation,
        }


@dataclass(frozen=True)
class ScanReport:
    """All findings of one scan; `partial` names every file that could not be read in full."""

    findings: tuple[Finding, ...]
    files_scanned: int
    partial: tuple[str, ...] = ()

    @property
    def worst(self) -> Severity | None:
        return max((f.severity for f in self.findings), default=None)

    def at_least(self, severity: Severity) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity >= severity)

    def as_json(self) -> dict[str, Any]:
        return {
            "findings": [f.as_json() for f in self.findings],
            "files_scanned": self.files_scanned,
            "partial": list(self.partial),
        }
