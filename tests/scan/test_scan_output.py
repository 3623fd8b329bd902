"""Formatters: JSON shape, SARIF 2.1.0 structure, deterministic bytes, safe terminal text."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from corpus import malicious_files, write

from modelcards.assess.findings import Finding, ScanReport, Severity
from modelcards.assess.format import format_json, format_sarif, format_text
from modelcards.assess.rules import RULES, finding
from modelcards.assess.scan import scan_path

JSON_SCHEMA = {
    "type": "object",
    "required": ["findings", "files_scanned", "partial"],
    "additionalProperties": False,
    "properties": {
        "files_scanned": {"type": "integer", "minimum": 0},
        "partial": {"type": "array", "items": {"type": "string"}},
        "findings": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["rule", "severity", "file", "message", "evidence", "recommendation"],
                "properties": {
                    "rule": {"type": "string", "pattern": "^MC[0-9]{3}$"},
                    "severity": {"enum": ["critical", "high", "medium", "low", "info"]},
                    "file": {"type": "string"},
                    "message": {"type": "string"},
                    "evidence": {"type": "object"},
                    "recommendation": {"type": "string"},
                },
            },
        },
    },
}

# The parts of the SARIF 2.1.0 schema that code-scanning uploads depend on.
SARIF_SCHEMA = {
    "type": "object",
    "required": ["version", "runs"],
    "properties": {
        "version": {"const": "2.1.0"},
        "runs": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["tool", "results"],
                "properties": {
                    "tool": {
                        "type": "object",
                        "required": ["driver"],
                        "properties": {"driver": {"type": "object", "required": ["name", "rules"]}},
                    },
                    "results": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["ruleId", "level", "message", "locations"],
                            "properties": {
                                "level": {"enum": ["none", "note", "warning", "error"]},
                                "message": {"type": "object", "required": ["text"]},
                                "locations": {"type": "array", "minItems": 1},
                            },
                        },
                    },
                },
            },
        },
    },
}


def report_for(tmp_path: Path) -> ScanReport:
    write(malicious_files(), tmp_path / "m")
    return scan_path(tmp_path / "m")


def test_json_output_matches_the_documented_shape(tmp_path: Path) -> None:
    data = json.loads(format_json(report_for(tmp_path)))
    jsonschema.validate(data, JSON_SCHEMA)
    assert data["files_scanned"] == len(malicious_files())
    assert any(f["severity"] == "critical" for f in data["findings"])


def test_sarif_results_point_at_catalogued_rules(tmp_path: Path) -> None:
    report = report_for(tmp_path)
    data = json.loads(format_sarif(report))
    jsonschema.validate(data, SARIF_SCHEMA)
    run = data["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert {r["id"] for r in rules} == set(RULES)
    assert len(run["results"]) == len(report.findings)
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert (tmp_path / "m" / uri).is_file()


def test_output_is_deterministic(tmp_path: Path) -> None:
    first = report_for(tmp_path / "a")
    second = report_for(tmp_path / "b")
    assert format_json(first) == format_json(second)
    assert format_sarif(first) == format_sarif(second)


def test_text_output_escapes_control_characters() -> None:
    report = ScanReport((finding("MC101", "evil\x1b[2Jname.pkl", "bad\nline"),), 1, ("p\x07",))
    text = format_text(report)
    assert "\x1b" not in text and "\x07" not in text
    assert "evil\\x1b[2Jname.pkl: CRITICAL MC101 bad\\x0aline" in text
    assert "1 file(s) scanned, 1 finding(s): 1 critical" in text


def test_every_finding_cites_a_catalogued_rule(tmp_path: Path) -> None:
    report = report_for(tmp_path)
    assert report.findings
    for f in report.findings:
        assert f.rule in RULES
        assert f.recommendation == RULES[f.rule].recommendation


def test_severity_is_ordered() -> None:
    assert Severity.CRITICAL > Severity.HIGH > Severity.MEDIUM > Severity.LOW > Severity.INFO
    assert max([Severity.LOW, Severity.CRITICAL, Severity.INFO]) is Severity.CRITICAL
    assert sorted([Severity.HIGH, Severity.INFO]) == [Severity.INFO, Severity.HIGH]


def test_finding_as_json_sorts_evidence() -> None:
    f = Finding("MC102", Severity.MEDIUM, "a", "m", {"z": 1, "a": "x"}, "r")
    assert list(f.as_json()["evidence"]) == ["a", "z"]


def test_rule_ids_are_in_their_ranges() -> None:
    for rule_id in RULES:
        assert rule_id[:3] in {"MC1", "MC2", "MC3", "MC4", "MC5", "MC6", "MC7"}, rule_id


def test_rules_reference_lists_every_rule() -> None:
    from modelcards.assess.format import rules_markdown

    text = rules_markdown()
    rows = [line for line in text.splitlines() if line.startswith("| MC")]
    assert [row.split(" | ")[0][2:] for row in rows] == sorted(RULES)
    assert all(row.count(" | ") == 5 for row in rows)


def test_findings_are_hashable_and_equal_by_value() -> None:
    a = finding("MC102", "f", "m", {"names": ["x"], "count": 1})
    b = finding("MC102", "f", "m", {"count": 1, "names": ["x"]})
    assert a == b and len({a, b}) == 1
