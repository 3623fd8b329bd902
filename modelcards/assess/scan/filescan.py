"""One top-level file's scan as it goes (`FileScan`: its findings and what was not read), and
how a name or its first bytes say what a file is (text, pickle)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from modelcards.assess.findings import EvidenceValue, Finding
from modelcards.assess.rules import finding
from modelcards.assess.scan.limits import ScanLimits
from modelcards.assess.scan.pickle_ops import scan_bytes

TEXT_EXTENSIONS = frozenset(
    {
        ".json",
        ".txt",
        ".md",
        ".py",
        ".yaml",
        ".yml",
        ".jinja",
        ".csv",
        ".tsv",
        ".toml",
        ".cfg",
        ".ini",
        ".html",
        ".rst",
        ".gitattributes",
        ".jsonl",
        ".license",
    }
)
TEXT_NAMES = frozenset(
    {
        "license",
        "notice",
        "readme",
        "use_policy",
        "copying",
        "authors",
        ".gitattributes",
        ".gitignore",
    }
)
# First bytes that can start a protocol 0/1 pickle that actually imports or builds something.
_P0_STARTS = frozenset(b"(c]})NIJKMLSVUTXFGiq")
# Every first byte `looks_like_pickle` can say yes to (0x80: the PROTO opcode of protocol 2+).
PICKLE_FIRST_BYTES = _P0_STARTS | {0x80}


@dataclass
class FileScan:
    """Findings and gaps of one top-level file, shared by everything nested in it."""

    file: str
    limits: ScanLimits
    findings: list[Finding] = field(default_factory=list)
    partial: list[str] = field(default_factory=list)
    decompressed: int = 0
    path: Path | None = None  # where the file is, for checks that look beside it (ONNX data)

    def add(
        self,
        rule: str,
        message: str,
        evidence: dict[str, EvidenceValue] | None = None,
        member: str | None = None,
    ) -> None:
        ev: dict[str, EvidenceValue] = {"member": member} if member else {}
        ev.update(evidence or {})
        self.findings.append(finding(rule, self.file, message, ev))

    def gap(self, why: str) -> None:
        self.partial.append(why)


def basename(name: str) -> str:
    """Last path part, lowercased (plain string work: this runs for every archive member)."""
    return name.replace("\\", "/").rsplit("/", 1)[-1].lower()


def extension(name: str) -> str:
    base = basename(name)
    dot = base.rfind(".")
    return base[dot:] if 0 < dot < len(base) - 1 else ""


def is_text_name(name: str) -> bool:
    base = basename(name)
    return extension(base) in TEXT_EXTENSIONS or base.split(".")[0] in TEXT_NAMES


def looks_like_pickle(head: bytes, name: str, limits: ScanLimits) -> bool:
    """True when the first bytes are a pickle that gets as far as an import or a STOP."""
    if len(head) >= 2 and head[0] == 0x80 and head[1] <= 5:
        return True
    if not head or head[0] not in _P0_STARTS or is_text_name(name):
        return False
    probe = ScanLimits(max_opcodes=20_000, max_pickle_seconds=0.2, max_pickles_per_stream=1)
    result = scan_bytes(head, probe)
    if result.is_pickle or result.limit is not None:
        return True  # imports, a STOP, or thousands of valid opcodes: a pickle
    # still parsing when the sniffed bytes ran out: the rest of the file decides
    return (
        result.opcodes >= 16
        and result.error_offset is not None
        and result.error_offset >= len(head) - 1024
    )
