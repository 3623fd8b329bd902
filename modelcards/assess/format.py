"""Print a `ScanReport` for a terminal, for scripts (JSON) and for code-scanning UIs (SARIF).

Output depends only on the report: same report, same bytes.
"""

from __future__ import annotations

import json
from typing import Any

from modelcards import __version__
from modelcards.assess.findings import ScanReport, Severity
from modelcards.assess.rules import RULES, Rule

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_SARIF_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
# GitHub code scanning reads a 0-10 "security-severity" to rank results.
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.0",
    Severity.LOW: "2.0",
    Severity.INFO: "0.0",
}


def _oneline(text: str) -> str:
    """Control characters from hostile names must not reach a terminal."""
    return "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text)


def format_text(report: ScanReport) -> str:
    lines: list[str] = []
    for f in report.findings:
        lines.append(
            f"{_oneline(f.file)}: {f.severity.value.upper()} {f.rule} {_oneline(f.message)}"
        )
        if f.evidence:
            shown = ", ".join(f"{k}={_oneline(str(v))}" for k, v in sorted(f.evidence.items()))
            lines.append(f"    evidence: {shown}")
        if f.recommendation and f.severity >= Severity.MEDIUM:
            lines.append(f"    fix: {f.recommendation}")
    counts = {s: 0 for s in Severity}
    for f in report.findings:
        counts[f.severity] += 1
    summary = ", ".join(
        f"{counts[s]} {s.value}" for s in sorted(Severity, reverse=True) if counts[s]
    )
    lines.append(
        f"{report.files_scanned} file(s) scanned, {len(report.findings)} finding(s)"
        + (f": {summary}" if summary else "")
    )
    for name in report.partial:
        lines.append(f"not read in full: {_oneline(name)}")
    return "\n".join(lines) + "\n"


def format_json(report: ScanReport) -> str:
    # ASCII-only: file names that are not UTF-8 (lone surrogates) still give printable JSON
    return json.dumps(report.as_json(), indent=2, ensure_ascii=True) + "\n"


def _sarif_rule(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": "".join(w.capitalize() for w in rule.title.replace("-", " ").split()[:8]),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": f"{rule.why} Checks: {rule.checks}."},
        "help": {"text": rule.recommendation},
        "defaultConfiguration": {"level": _SARIF_LEVEL[rule.severity]},
        "properties": {
            "severity": rule.severity.value,
            "security-severity": _SECURITY_SEVERITY[rule.severity],
            "tags": ["security"],
        },
    }


def sarif(report: ScanReport) -> dict[str, Any]:
    rules = sorted(RULES.values(), key=lambda r: r.id)
    index = {rule.id: i for i, rule in enumerate(rules)}
    results = []
    for f in report.findings:
        result: dict[str, Any] = {
            "ruleId": f.rule,
            "level": _SARIF_LEVEL[f.severity],
            "message": {"text": f.message},
            "locations": [
                {"physicalLocation": {"artifactLocation": {"uri": f.file, "uriBaseId": "SRCROOT"}}}
            ],
            "properties": {
                "severity": f.severity.value,
                "evidence": {k: f.evidence[k] for k in sorted(f.evidence)},
                "recommendation": f.recommendation,
            },
        }
        if f.rule in index:
            result["ruleIndex"] = index[f.rule]
        results.append(result)
    notifications = [
        {
            "level": "warning",
            "message": {"text": f"not read in full: {name}"},
            "locations": [
                {"physicalLocation": {"artifactLocation": {"uri": name, "uriBaseId": "SRCROOT"}}}
            ],
        }
        for name in report.partial
    ]
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "modelcards",
                        "version": __version__,
                        "informationUri": "https://pypi.org/project/modelcards-audit/",
                        "rules": [_sarif_rule(r) for r in rules],
                    }
                },
                "invocations": [
                    {"executionSuccessful": True, "toolExecutionNotifications": notifications}
                ],
                "results": results,
                "properties": {"filesScanned": report.files_scanned},
            }
        ],
    }


def format_sarif(report: ScanReport) -> str:
    return json.dumps(sarif(report), indent=2, ensure_ascii=True) + "\n"


def rules_markdown() -> str:
    """The rule catalogue as a Markdown reference page (for the documentation site)."""
    lines = [
        "| id | severity | title | checks | why | recommendation |",
        "|---|---|---|---|---|---|",
    ]
    for rule in sorted(RULES.values(), key=lambda r: r.id):
        cells = [
            rule.id,
            rule.severity.value,
            rule.title,
            rule.checks,
            rule.why,
            rule.recommendation,
        ]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


FORMATTERS = {"text": format_text, "json": format_json, "sarif": format_sarif}
