"""Policy and waivers: which findings fail the gate, and which a person accepted, until when.

A waived finding still shows in the card, marked with the reason and the owner. An expired
waiver stops waiving. "Today" comes from SOURCE_DATE_EPOCH when it is set (reproducible
builds), else the clock: the only date modelcards ever reads from anywhere but git.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from fnmatch import fnmatch

from modelcards.assess.findings import Finding, Severity


@dataclass(frozen=True)
class Waiver:
    rule: str
    reason: str
    owner: str
    model: str | None = None  # a model name; None: every model
    file: str | None = None  # a file pattern relative to the model folder; None: any file
    expires: dt.date | None = None

    def matches(self, model: str, found: Finding) -> bool:
        return (
            self.rule == found.rule
            and (self.model is None or self.model == model)
            and (self.file is None or fnmatch(found.file, self.file))
        )

    def expired(self, today: dt.date) -> bool:
        return self.expires is not None and today > self.expires

    def as_json(self) -> dict[str, object]:
        return {"rule": self.rule, "model": self.model, "file": self.file, "reason": self.reason,
                "owner": self.owner,
                "expires": self.expires.isoformat() if self.expires else None}  # fmt: skip


# when `check` requires the provider's statements for the EU documents (`compliance:`)
PROVIDER_POLICIES = ("never", "above_threshold", "always")


@dataclass(frozen=True)
class Policy:
    fail_on: Severity = Severity.HIGH
    required: tuple[str, ...] = ()  # governance items that must be evidenced
    required_sections: tuple[str, ...] = ()  # card headings a person must fill in
    require_signature: bool = False  # check fails on a model whose model.sig/card.sig fail
    signing_key: str | None = None  # project-relative PEM public key signatures are checked with
    require_provider_details: str = "never"  # one of PROVIDER_POLICIES


@dataclass(frozen=True)
class AssessedFinding:
    finding: Finding
    waiver: Waiver | None  # the waiver that matched, expired or not
    waived: bool  # a matching waiver is in force

    def as_json(self) -> dict[str, object]:
        data = self.finding.as_json()
        data["waived"] = self.waived
        data["waiver"] = self.waiver.as_json() if self.waiver else None
        data["waiver_expired"] = self.waiver is not None and not self.waived
        return data


def today() -> dt.date:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.strip().isdigit():
        return dt.datetime.fromtimestamp(int(epoch), tz=dt.timezone.utc).date()
    return dt.date.today()


def apply_waivers(
    model: str, findings: list[Finding], waivers: tuple[Waiver, ...], on: dt.date
) -> list[AssessedFinding]:
    assessed = []
    for found in findings:
        matching = [w for w in waivers if w.matches(model, found)]
        active = next((w for w in matching if not w.expired(on)), None)
        shown = active or (matching[0] if matching else None)
        assessed.append(AssessedFinding(found, shown, active is not None))
    return assessed


def failing(assessed: list[AssessedFinding], policy: Policy) -> list[AssessedFinding]:
    """Findings at or above the policy's severity that no waiver in force covers."""
    return [a for a in assessed if a.finding.severity >= policy.fail_on and not a.waived]
