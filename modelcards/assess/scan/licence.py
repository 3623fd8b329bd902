"""Licence risks of a fine-tune against its base: missing, changed, or more permissive than the
base allows, and the obligations that carry over to every derivative."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelcards.assess.findings import EvidenceValue, Finding
from modelcards.assess.rules import finding

CARD = "README.md"

PERMISSIVE = frozenset({
    "apache-2.0", "mit", "bsd", "bsd-2-clause", "bsd-3-clause", "bsd-3-clause-clear", "isc",
    "cc-by-4.0", "cc-by-3.0", "cc-by-2.0", "cc0-1.0", "unlicense", "wtfpl", "bsl-1.0",
    "artistic-2.0", "zlib", "mpl-2.0", "ecl-2.0", "postgresql", "pddl", "odc-by", "ms-pl",
    "afl-3.0", "openrail-permissive",
})  # fmt: skip

# license id (or prefix) -> (family, obligations that carry over to derivatives)
_LLAMA = (
    "Llama community licence",
    "keep the licence and the 'Built with Llama' attribution; Llama 3+ derivatives must "
    "begin their name with 'Llama'; the Acceptable Use Policy applies; services above "
    "700M monthly users need a separate licence from Meta",
)
_RESTRICTED: tuple[tuple[str, tuple[str, str]], ...] = (
    ("llama", _LLAMA),
    (
        "gemma",
        (
            "Gemma Terms of Use",
            "pass on the Gemma Terms of Use and the Prohibited Use Policy; state that the "
            "model was modified; use restrictions bind every user",
        ),
    ),
    (
        "cc-by-nc-nd",
        (
            "Creative Commons non-commercial, no-derivatives",
            "no commercial use; derivatives may not be shared; attribution",
        ),
    ),
    (
        "cc-by-nc-sa",
        (
            "Creative Commons non-commercial, share-alike",
            "no commercial use; derivatives under the same licence; attribution",
        ),
    ),
    ("cc-by-nc", ("Creative Commons non-commercial", "no commercial use; attribution")),
    ("cc-by-nd", ("Creative Commons no-derivatives", "derivatives may not be shared")),
    (
        "cc-by-sa",
        ("Creative Commons share-alike", "derivatives under the same licence; attribution"),
    ),
    (
        "creativeml-openrail",
        (
            "OpenRAIL",
            "the use restrictions (Attachment A) must be included "
            "in the licence of every derivative and passed on to users",
        ),
    ),
    (
        "bigscience-openrail",
        (
            "OpenRAIL",
            "the use restrictions (Attachment A) must be included "
            "in the licence of every derivative and passed on to users",
        ),
    ),
    (
        "bigcode-openrail",
        (
            "OpenRAIL",
            "the use restrictions (Attachment A) must be included "
            "in the licence of every derivative and passed on to users",
        ),
    ),
    (
        "openrail",
        (
            "OpenRAIL",
            "the use restrictions must be included in the licence of every "
            "derivative and passed on to users",
        ),
    ),
    ("agpl", ("GNU AGPL", "derivatives under the same licence; source for network use")),
    ("lgpl", ("GNU LGPL", "modifications under the same licence")),
    ("gpl", ("GNU GPL", "derivatives under the same licence")),
    ("deepfloyd", ("DeepFloyd IF licence", "non-commercial research use; pass on the terms")),
    ("apple-ascl", ("Apple sample code licence", "pass on the terms")),
    (
        "other",
        (
            "custom licence",
            "read the base licence (license_name/license_link) and carry its terms and notices",
        ),
    ),
    ("unknown", ("unknown licence", "find the base licence terms before publishing")),
)


def _norm(value: object) -> str | None:
    if isinstance(value, list | tuple):
        value = value[0] if len(value) == 1 else ",".join(str(v) for v in value)
    if value is None:
        return None
    text = str(value).strip().lower()
    return text or None


def restriction(license_id: str) -> tuple[str, str] | None:
    """(family, obligations) for a licence that limits derivatives, else None."""
    if license_id in PERMISSIVE or license_id == "openrail-permissive":
        return None
    for prefix, info in _RESTRICTED:
        if license_id == prefix or license_id.startswith(prefix):
            return info
    return None


def licence_findings(
    base_license: str | None,
    tuned_license: str | None,
    base_card_meta: Mapping[str, Any] | None = None,
    *,
    file: str = CARD,
    base_source: str | None = None,
) -> list[Finding]:
    """Compare the fine-tune's licence with its base's; `file` is the tuned model's card.

    For a base under `other`, the card's `license_name` (e.g. `llama3`) names the family.
    `base_source` says where the base licence was read (its card, or its family's known one).
    """
    base, tuned = _norm(base_license), _norm(tuned_license)
    meta = base_card_meta or {}
    evidence: dict[str, EvidenceValue] = {"base_license": base, "tuned_license": tuned}
    if base_source:
        evidence["base_license_source"] = base_source
    for key in ("license_name", "license_link"):
        if isinstance(meta.get(key), str):
            evidence[f"base_{key}"] = meta[key]
    if meta.get("extra_gated_prompt") or meta.get("extra_gated_fields"):
        evidence["base_gated"] = True
    findings: list[Finding] = []
    limits = restriction(base) if base else None
    named = _norm(meta.get("license_name"))
    if base == "other" and named and restriction(named):
        limits = restriction(named)
    if base is None:
        findings.append(finding("MC505", file, "the base model declares no licence", evidence))
    if tuned is None:
        message = "the fine-tuned model declares no licence"
        if limits:
            message += f"; the base is under the {limits[0]}, which still applies"
        findings.append(finding("MC501", file, message, evidence))
    elif base is not None and tuned != base:
        if limits and tuned in PERMISSIVE:
            findings.append(
                finding(
                    "MC503",
                    file,
                    f"the base is under the {limits[0]} ({base}) "
                    f"but the fine-tune is published as {tuned}",
                    evidence,
                )
            )
        else:
            findings.append(
                finding("MC502", file, f"licence changed from {base} to {tuned}", evidence)
            )
    if limits:
        findings.append(
            finding(
                "MC504",
                file,
                f"{limits[0]} ({base}) obligations carry over: {limits[1]}",
                {**evidence, "family": limits[0]},
            )
        )
    return findings
