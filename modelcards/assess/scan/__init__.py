"""Scan a model folder (or one file) for risks, reading facts from bytes and running nothing.

The walk never follows a symlink out of the folder, never opens FIFOs or devices, and reads
every file through bounded reads. A file that could not be read in full is listed in
`ScanReport.partial` with a finding: unknown is never reported as clean.
"""

from __future__ import annotations

import os
import stat
from dataclasses import replace
from pathlib import Path

from modelcards.assess.findings import Finding, ScanReport
from modelcards.assess.rules import finding
from modelcards.assess.scan.containers import scan_regular_file
from modelcards.assess.scan.filescan import FileScan
from modelcards.assess.scan.licence import licence_findings
from modelcards.assess.scan.limits import ScanLimits
from modelcards.assess.scan.pickle_ops import scan_bytes as scan_pickle_bytes
from modelcards.assess.scan.weight_index import index_findings, is_weight_index
from modelcards.resolve.snapshot import undecodable_name
from modelcards.safeio.errors import AssessError

__all__ = [
    "ScanLimits",
    "hf_cache_repo",
    "licence_findings",
    "scan_file",
    "scan_path",
    "scan_pickle_bytes",
]

INTERNAL_ERROR = "scanner error (a bug in modelcards, please report it)"
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # a FIFO swapped in after lstat must not block us
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
SKIPPED_DIRS = frozenset({".git", ".hg", ".svn"})


def _shown(name: str) -> str:
    """A name as reports can hold it: undecodable bytes of a file name shown as `\\xNN`."""
    return undecodable_name(name) or name


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def scan_file(real: Path, rel: str, limits: ScanLimits) -> tuple[list[Finding], list[str]]:
    """Scan one regular file; returns findings and why it was partial (empty if read in full)."""
    scan = FileScan(rel, limits, path=real)
    try:
        fd = os.open(real, os.O_RDONLY | _NONBLOCK | _NOFOLLOW)
    except OSError as exc:
        scan.add("MC122", f"cannot open: {exc.strerror or exc}")
        return scan.findings, [f"cannot open: {exc.strerror or exc}"]
    with os.fdopen(fd, "rb", buffering=1024 * 1024) as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):
            scan.add("MC121", "not a regular file; skipped")
            return scan.findings, []
        try:
            scan_regular_file(scan, fh, info.st_size, rel)
            if is_weight_index(rel) and info.st_size <= limits.max_text_bytes:
                fh.seek(0)
                scan.findings.extend(index_findings(fh.read(), rel))
        except OSError as exc:
            scan.add("MC122", f"read failed: {exc.strerror or exc}")
            scan.gap(f"read failed: {exc.strerror or exc}")
        except (RecursionError, MemoryError) as exc:
            scan.add("MC122", f"scan gave up: {type(exc).__name__}")
            scan.gap(f"scan gave up: {type(exc).__name__}")
        except Exception as exc:  # noqa: BLE001 - last resort: hostile bytes never give a traceback
            scan.add("MC122", f"{INTERNAL_ERROR}: {type(exc).__name__}: {exc}")
            scan.gap(f"{INTERNAL_ERROR}: {type(exc).__name__}")
    if scan.partial and not any(f.rule in _PARTIAL_RULES for f in scan.findings):
        scan.add("MC122", "; ".join(scan.partial[:3]))
    return scan.findings, scan.partial


_PARTIAL_RULES = frozenset(
    {"MC103", "MC104", "MC110", "MC111", "MC113", "MC122", "MC123", "MC124", "MC404"}
)


def hf_cache_repo(folder: Path) -> Path | None:
    """The Hugging Face cache repo folder of a snapshot (`models--o--n/snapshots/<rev>`).

    Snapshot files are links into the repo's `blobs/`, outside the snapshot folder itself.
    """
    parent = folder.parent
    if parent.name == "snapshots" and parent.parent.name.startswith(
        ("models--", "datasets--", "spaces--")
    ):
        return parent.parent
    return None


def scan_path(
    path: Path,
    *,
    limits: ScanLimits | None = None,
    allowed_root: Path | None = None,
    exclude: frozenset[str] = frozenset(),
) -> ScanReport:
    """Scan a folder (recursively) or a single file; `file` in findings is relative to `path`.

    Symlinks are followed only when they land inside `allowed_root` (default: the folder, or
    for a Hugging Face cache snapshot its repo folder, where the blobs are). `exclude` names
    regular files (relative paths) to pass over, and folders (ending in "/"): the card files
    and the site modelcards itself writes.
    """
    limits = limits or ScanLimits()
    excluded_folders = tuple(e for e in exclude if e.endswith("/"))
    path = Path(path)
    try:
        top = os.lstat(path)
    except OSError as exc:
        raise AssessError(f"cannot scan: {exc.strerror or exc}", file=str(path)) from None
    findings: list[Finding] = []
    partial: list[str] = []
    if not stat.S_ISDIR(top.st_mode) and not stat.S_ISLNK(top.st_mode):
        name = path.name
        if stat.S_ISREG(top.st_mode):
            found, gaps = scan_file(path, name, limits)
            return _report(found, 1, [name] if gaps else [])
        findings.append(
            finding("MC121", name, "not a regular file; skipped", {"kind": _kind(top.st_mode)})
        )
        return _report(findings, 0, partial)
    try:
        root = path.resolve()
    except (OSError, RuntimeError):  # a link to itself, or a loop of links
        raise AssessError("cannot scan: a symlink loop", file=str(path)) from None
    if not root.is_dir():
        found, gaps = scan_file(root, path.name, limits)
        return _report(found, 1, [path.name] if gaps else [])
    allowed = Path(allowed_root).resolve() if allowed_root else (hf_cache_repo(root) or root)

    def unreadable(exc: OSError) -> None:
        rel = Path(exc.filename).relative_to(root).as_posix() if exc.filename else "."
        findings.append(finding("MC122", rel, f"cannot list folder: {exc.strerror or exc}"))
        partial.append(rel)

    regular: list[tuple[str, Path]] = []
    links: list[tuple[str, Path, str]] = []  # (name, real target, link text)
    for dirpath, dirnames, filenames in os.walk(root, onerror=unreadable, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS)
        here = Path(dirpath)
        for dname in list(dirnames):
            full = here / dname
            if not full.is_symlink():
                continue
            rel, link = _shown(full.relative_to(root).as_posix()), _shown(os.readlink(full))
            target = Path(os.path.realpath(full))
            if not _inside(target, allowed):
                findings.append(
                    finding(
                        "MC120",
                        rel,
                        f"folder link points outside the scanned folder to {link}",
                        {"target": link},
                    )
                )
            elif not _inside(target, root):
                findings.append(
                    finding("MC122", rel, f"folder link to {link} not followed", {"target": link})
                )
                partial.append(rel)
        for fname in sorted(filenames):
            full = here / fname
            rel = _shown(full.relative_to(root).as_posix())  # the name reported, not opened
            try:
                st = os.lstat(full)
            except OSError as exc:
                findings.append(finding("MC122", rel, f"cannot stat: {exc.strerror or exc}"))
                partial.append(rel)
                continue
            if stat.S_ISLNK(st.st_mode):
                link = _shown(os.readlink(full))
                target = Path(os.path.realpath(full))
                if _inside(target, allowed):
                    links.append((rel, target, link))
                else:
                    findings.append(
                        finding(
                            "MC120",
                            rel,
                            f"link points outside the scanned folder to {link}",
                            {"target": link},
                        )
                    )
            elif stat.S_ISREG(st.st_mode):
                if rel not in exclude and not rel.startswith(excluded_folders):
                    regular.append((rel, full))
            else:
                findings.append(
                    finding(
                        "MC121",
                        rel,
                        f"{_kind(st.st_mode)} skipped, never opened",
                        {"kind": _kind(st.st_mode)},
                    )
                )
    names = {real: rel for rel, real in regular}  # real path -> the name it is reported under
    aliases: dict[str, list[str]] = {}
    for rel, target, link in links:
        try:
            st = os.stat(target)
        except OSError:
            findings.append(finding("MC121", rel, f"broken link to {link}", {"target": link}))
            continue
        if not stat.S_ISREG(st.st_mode):
            findings.append(
                finding(
                    "MC121",
                    rel,
                    f"link to a {_kind(st.st_mode)} skipped",
                    {"target": link, "kind": _kind(st.st_mode)},
                )
            )
            continue
        if target not in names:  # reached only through links: scanned once, under this name
            names[target] = target.relative_to(root).as_posix() if _inside(target, root) else rel
            regular.append((names[target], target))
        if names[target] != rel:
            aliases.setdefault(names[target], []).append(rel)
    scanned = 0
    for rel, real in sorted(regular):
        if scanned >= limits.max_files:
            partial.append(rel)
            continue
        scanned += 1
        found, gaps = scan_file(real, rel, limits)
        if rel in aliases:  # say which link names lead to this file
            found = [
                replace(f, evidence={**f.evidence, "linked_as": sorted(aliases[rel])})
                for f in found
            ]
        findings += found
        if gaps:
            partial.append(rel)
    return _report(findings, scanned, partial)


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    if stat.S_ISDIR(mode):
        return "folder"
    return "special file"


def _report(findings: list[Finding], scanned: int, partial: list[str]) -> ScanReport:
    unique = {(f.rule, f.file, f.message, repr(sorted(f.evidence.items()))): f for f in findings}
    ordered = sorted(unique.values(), key=lambda f: f.sort_key())
    return ScanReport(tuple(ordered), scanned, tuple(sorted(set(partial))))
