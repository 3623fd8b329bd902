"""Tar archives, plain or decompressed: torch's oldest checkpoints and .tar.gz model bundles.

Members are read in order through tarfile's bounded file objects and never extracted; the
archive may be a stream that cannot seek (a .tar.gz being decompressed), so a member's first
bytes are read once and handed, with the rest of the member, to the caller's dispatcher.
Member names that would land outside the extraction folder, and links, are findings.
"""

from __future__ import annotations

import tarfile
from collections.abc import Callable
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from modelcards.assess.scan.filescan import FileScan

Inner = Callable[..., None]  # (scan, stream, head, *, name, label, depth, size) -> None


def bad_member_name(name: str) -> str | None:
    """Why extracting a member of this name escapes the target folder (None: it does not)."""
    if "\x00" in name:
        return "contains a NUL byte"
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return "is an absolute path"
    if "\\" in name:
        return "contains a backslash"
    if ".." in name.replace("\\", "/").split("/"):
        return "climbs out with '..'"
    return None


def is_tar(head: bytes) -> bool:
    """POSIX/GNU/PAX tar: 'ustar' at offset 257 and a header checksum that adds up."""
    if len(head) < 512 or head[257:262] != b"ustar":
        return False
    try:
        declared = int(head[148:156].replace(b"\x00", b" ").strip() or b"-1", 8)
    except ValueError:
        return False
    return declared == sum(head[:148]) + 8 * 32 + sum(head[156:512])


def scan_tar(
    scan: FileScan,
    fh: IO[bytes],
    *,
    inner: Inner,
    chain: str = "",
    depth: int = 0,
    stream: bool = False,
) -> None:
    """Scan every member; `stream`: `fh` only reads forward (tarfile's "r|" mode)."""
    limits = scan.limits
    where = chain.rstrip("/").removesuffix("!") or None
    count = 0
    try:
        with tarfile.open(fileobj=fh, mode="r|" if stream else "r:") as archive:
            for info in archive:
                count += 1
                if count > limits.max_zip_members:
                    scan.add(
                        "MC110",
                        f"archive has more than {limits.max_zip_members:,} members",
                        {},
                        where,
                    )
                    scan.gap(f"only the first {limits.max_zip_members:,} members were read")
                    return
                _scan_member(scan, archive, info, inner, chain, depth)
    except (tarfile.TarError, OSError, EOFError, ValueError, UnicodeDecodeError) as exc:
        scan.add("MC113", f"tar archive cannot be read: {exc}", {}, where)
        scan.gap(f"tar archive {where or scan.file} cannot be read")


def _scan_member(
    scan: FileScan,
    archive: tarfile.TarFile,
    info: tarfile.TarInfo,
    inner: Inner,
    chain: str,
    depth: int,
) -> None:
    label = chain + info.name
    why = bad_member_name(info.name)
    if why:
        scan.add("MC112", f"member name {info.name!r} {why}", {"name": info.name}, label)
    if info.issym() or info.islnk():
        scan.add(
            "MC112", f"member is a link to {info.linkname!r}", {"target": info.linkname}, label
        )
        return
    if not info.isfile():
        return
    member = archive.extractfile(info)
    if member is None:
        return
    head = member.read(scan.limits.sniff_bytes)
    if head:
        inner(scan, member, head, name=info.name, label=label, depth=depth, size=info.size)
