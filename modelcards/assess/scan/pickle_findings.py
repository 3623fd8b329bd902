"""Turn what the opcode walker saw in one stream into findings, judged by the import policy."""

from __future__ import annotations

from modelcards.assess.findings import EvidenceValue, Finding
from modelcards.assess.rules import finding
from modelcards.assess.scan.pickle_ops import Import, StreamScan
from modelcards.assess.scan.policy import Verdict, classify, gadget_attr

MAX_UNVERIFIED_FINDINGS = 50  # per stream; dangerous imports are always listed in full


def stream_findings(
    scan: StreamScan, file: str, *, member: str | None = None, named_pickle: bool = True
) -> tuple[list[Finding], str | None]:
    """Turn one stream scan into findings; the second value is why the scan was partial."""
    if not named_pickle and not scan.is_pickle and scan.limit is None:
        return [], None  # content sniffed as a pickle turned out not to be one
    where: dict[str, EvidenceValue] = {"member": member} if member else {}
    findings: list[Finding] = []
    grouped: dict[tuple[str, str, str], list[Import]] = {}
    for imp in scan.imports:
        grouped.setdefault((imp.module, imp.name, imp.opcode), []).append(imp)
    unverified = 0
    for (module, name, opcode), hits in sorted(grouped.items()):
        verdict, target = classify(module, name)
        if verdict is Verdict.SAFE:
            continue
        if verdict is Verdict.UNVERIFIED:
            unverified += 1
            if unverified > MAX_UNVERIFIED_FINDINGS:
                continue
        evidence: dict[str, EvidenceValue] = {
            **where,
            "module": module,
            "name": name,
            "opcode": opcode,
            "offset": hits[0].offset,
            "count": len(hits),
            "pickle_index": hits[0].pickle_index,
        }
        if verdict is Verdict.DANGEROUS:
            resolved = f" (resolves to {target})" if target != f"{module}.{name}" else ""
            evidence["resolves_to"] = target
            how = "which can run code"
            gadget = gadget_attr(module, name)
            if gadget:
                evidence["gadget"] = gadget
                how = f"which walks through {gadget} to the interpreter: it can run code"
            findings.append(
                finding("MC101", file, f"pickle imports {module}.{name}{resolved}, {how}", evidence)
            )
        else:
            message = f"pickle imports {module}.{name}, which is not on the allowlist"
            findings.append(finding("MC102", file, message, evidence))
    if unverified > MAX_UNVERIFIED_FINDINGS:
        extra = unverified - MAX_UNVERIFIED_FINDINGS
        findings.append(
            finding(
                "MC102",
                file,
                f"{extra} more imports not on the allowlist",
                {**where, "more_imports": extra},
            )
        )
    for item in scan.unresolved[:20]:
        findings.append(
            finding(
                "MC107",
                file,
                f"{item.opcode} at offset {item.offset}: {item.why}",
                {**where, "opcode": item.opcode, "offset": item.offset},
            )
        )
    partial: str | None = None
    if scan.limit:
        partial = f"pickle scan stopped: {scan.limit}"
        findings.append(
            finding("MC104", file, partial, {**where, "opcodes": scan.opcodes, "limit": scan.limit})
        )
    elif scan.error and (scan.is_pickle or named_pickle):
        partial = f"pickle stream broken at offset {scan.error_offset}: {scan.error}"
        findings.append(
            finding(
                "MC103",
                file,
                partial,
                {
                    **where,
                    "offset": scan.error_offset or 0,
                    "error": scan.error,
                    "complete_pickles": scan.pickles,
                },
            )
        )
    if scan.is_pickle:
        evidence = {
            **where,
            "pickles": scan.pickles,
            "opcodes": scan.opcodes,
            "imports": len(scan.imports),
        }
        for key in ("reduce", "build", "newobj", "obj", "inst"):
            evidence[key] = scan.counts.get(key, 0)
        findings.append(finding("MC105", file, "pickle data: loading it can run code", evidence))
    return findings, partial
