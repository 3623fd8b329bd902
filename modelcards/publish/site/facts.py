"""What the site adds to a model's context: page names (slugs), releases, finding counts, links."""

from __future__ import annotations

import re
from typing import Any

from modelcards.history import GROUP_ORDER
from modelcards.resolve.hubid import split_hub_reference

__all__ = [
    "findings",
    "findings_rank",
    "governance_score",
    "hub_url",
    "in_group_order",
    "severity_key",
    "shard_slugs",
    "site_facts",
    "slug",
    "unique_slugs",
]


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "model"


RISK_KEYS = (
    "rule", "severity", "file", "message", "evidence", "recommendation", "waived", "waiver",
    "waiver_expired",
)  # fmt: skip
SEVERITIES = ("critical", "high", "medium", "low", "info")


def hub_url(base_id: str | None) -> str | None:
    if not base_id or split_hub_reference(base_id) is None:
        return None
    return "https://huggingface.co/" + base_id.split("@", 1)[0]


def unique_slugs(names: list[str], reserved: frozenset[str] = frozenset()) -> list[str]:
    """A file-name-safe slug per name, none twice and none reserved (`-2`, `-3`, … added)."""
    taken = set(reserved)
    out = []
    for name in names:
        base = candidate = slug(name)
        number = 1
        while candidate in taken:
            number += 1
            candidate = f"{base}-{number}"
        taken.add(candidate)
        out.append(candidate)
    return out


def shard_slugs(slugs: list[str], number: int, count: int) -> frozenset[str]:
    """The model folders of shard `number` (1-based) of `count`: the same contiguous run of the
    sorted folders on every machine, the shards' sizes differing by one at most."""
    if not 1 <= number <= count:
        raise ValueError(f"shard {number} of {count}")
    ordered = sorted(slugs)
    size, extra = divmod(len(ordered), count)
    start = (number - 1) * size + min(number - 1, extra)
    return frozenset(ordered[start : start + size + (1 if number <= extra else 0)])


def severity_key(severity: str) -> tuple[int, str]:
    sev = str(severity).lower()
    return (SEVERITIES.index(sev) if sev in SEVERITIES else len(SEVERITIES), sev)


def _severity_css(severity: Any) -> str:
    sev = str(severity or "").lower()
    return sev if sev in SEVERITIES else "other"


def findings(risks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Open (unwaived) findings counted by severity, most severe first; waived counted apart."""
    counts: dict[str, int] = {}
    waived = 0
    for risk in risks:
        if risk.get("waived"):
            waived += 1
            continue
        sev = str(risk.get("severity") or "unknown").lower()
        counts[sev] = counts.get(sev, 0) + 1
    rows = [
        {"severity": sev, "count": n, "css": slug(sev) if sev in SEVERITIES else "other"}
        for sev, n in sorted(counts.items(), key=lambda kv: severity_key(kv[0]))
    ]
    if waived:
        rows.append({"severity": "waived", "count": waived, "css": "waived"})
    return rows


def findings_rank(rows: list[dict[str, Any]]) -> str:
    """A sort key for the home table from `findings` rows: open counts, most severe first."""
    counts = {row["severity"]: row["count"] for row in rows}
    return "".join(f"{min(counts.get(sev, 0), 999):03d}" for sev in SEVERITIES[:4])


def governance_score(items: list[Any]) -> dict[str, int]:
    """How many governance checklist items are evidenced, of how many."""
    rows = [i for i in items if isinstance(i, dict)]
    return {"evidenced": sum(1 for i in rows if i.get("evidenced")), "total": len(rows)}


def in_group_order(release: dict[str, Any]) -> dict[str, Any]:
    """The release with its commit groups in the change log's order (card.json sorts keys)."""
    groups = release.get("groups") or {}
    rank = {name: number for number, name in enumerate(GROUP_ORDER)}
    ranked = sorted(groups, key=lambda g: (rank.get(g, len(rank)), g))
    return {**release, "groups": {g: groups[g] for g in ranked}}


# the EU documents' pages in a model's folder: card.json key → (page, link text)
EU_PAGES = {
    "model_documentation": ("model-documentation.md", "Model Documentation Form"),
    "training_content": ("training-content.md", "Training content summary"),
}


def site_facts(context: dict[str, Any], model_slug: str) -> dict[str, Any]:
    """What the site adds to a model's context: links, releases with page names, counts."""
    history = dict(context.get("history") or {})
    history["releases"] = [in_group_order(r) for r in history.get("releases") or []]
    releases = []
    tags = [r["tag"] for r in history.get("releases", []) if r.get("tag")]
    for release, tag_slug in zip(
        [r for r in history.get("releases", []) if r.get("tag")],
        unique_slugs(tags, reserved=frozenset({"index"})),
        strict=True,
    ):
        releases.append({**release, "slug": tag_slug})
    dates = [
        c["date"]
        for r in history.get("releases", [])
        for commits in r.get("groups", {}).values()
        for c in commits
        if c.get("date")
    ]
    risks = sorted(
        (
            {**{k: r.get(k) for k in RISK_KEYS}, **r, "css": _severity_css(r.get("severity"))}
            for r in context.get("risks") or []
            if isinstance(r, dict)
        ),
        key=lambda r: (
            bool(r.get("waived")),
            severity_key(r.get("severity") or ""),
            str(r.get("rule")),
        ),
    )
    base = context.get("base") or {}
    open_findings = findings(risks)
    return {
        "slug": model_slug,
        "has_training": bool(context.get("training") or context.get("evaluation")),
        "eu_documents": [
            {"page": page, "label": label}
            for key, (page, label) in EU_PAGES.items()
            if isinstance(context.get(key), dict)
        ],
        "hub_url": hub_url(base.get("id")),
        "releases": releases,
        "unreleased": next((r for r in history.get("releases", []) if not r.get("tag")), None),
        "latest_release": releases[0] if releases else None,
        "last_change": max(dates, key=_utc) if dates else None,
        "findings": open_findings,
        "findings_rank": findings_rank(open_findings),
        "governance": governance_score(context.get("governance") or []),
        "risks": risks,
    }


def _utc(date: str) -> str:
    """Sort key for ISO dates with offsets (git gives the committer's zone)."""
    from datetime import datetime, timezone

    try:
        return datetime.fromisoformat(date).astimezone(timezone.utc).isoformat()
    except ValueError:
        return date
