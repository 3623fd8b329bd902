"""Provenance: where each file came from, with sizes and sha256.

Hashes already known (Git-LFS oids, Hub metadata) are reused; the rest are streamed in large
blocks through the snapshot, so the same code serves folders, git trees and the Hub.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

from modelcards.resolve.snapshot import FileEntry, Snapshot

BLOCK = 8 * 1024 * 1024


def sha256_of(snapshot: Snapshot, entry: FileEntry) -> str:
    local = snapshot.local_file(entry.path)
    digest = hashlib.sha256()
    if local is not None:
        with open(local, "rb") as handle:
            while block := handle.read(BLOCK):
                digest.update(block)
        return digest.hexdigest()
    offset = 0
    while offset < entry.size:
        block = snapshot.read_range(entry.path, offset, BLOCK)
        if not block:
            break
        digest.update(block)
        offset += len(block)
    return digest.hexdigest()


def hashed_manifest(snapshot: Snapshot, files: tuple[FileEntry, ...]) -> tuple[FileEntry, ...]:
    """`files` with every sha256 filled in (LFS pointers keep the oid they declare)."""
    return tuple(
        entry if entry.sha256 is not None else replace(entry, sha256=sha256_of(snapshot, entry))
        for entry in files
    )


@dataclass(frozen=True)
class Provenance:
    base: dict[str, object] | None
    repository: str | None
    commit: str | None
    files: tuple[FileEntry, ...]
    base_files: tuple[FileEntry, ...] = ()  # the base's manifest, hashed, when its files were read

    def as_json(self) -> dict[str, object]:
        return {
            "base": self.base,
            "repository": self.repository,
            "commit": self.commit,
            "files": [
                {"path": f.path, "size": f.size, "sha256": f.sha256, "lfs_pointer": f.lfs_pointer}
                for f in self.files
            ],
            "base_files": [
                {"path": f.path, "size": f.size, "sha256": f.sha256, "lfs_pointer": f.lfs_pointer}
                for f in self.base_files
            ],
        }
