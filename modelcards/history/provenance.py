"""Provenance: where each file came from, with sizes and sha256.

Hashes already known (Git-LFS oids, Hub metadata) are reused; the rest are streamed in large
blocks through the snapshot, so the same code serves folders, git trees and the Hub.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

from modelcards.history.base_signature import BaseSignature
from modelcards.resolve.local import LocalSnapshot
from modelcards.resolve.snapshot import FileEntry, Snapshot
from modelcards.safeio.hashcache import HashCache
from modelcards.safeio.hashing import BLOCK_BYTES as BLOCK


def sha256_of(snapshot: Snapshot, entry: FileEntry, cache: HashCache) -> str:
    """The sha256 of one file: from the cache, else streamed through the snapshot."""
    local = snapshot.local_file(entry.path)
    if local is not None:  # a folder's walk has resolved its files' paths
        return cache.file_sha256(local, resolved=isinstance(snapshot, LocalSnapshot))
    if entry.blob_id and (known := cache.blob_sha256(entry.blob_id)):
        return known
    digest = hashlib.sha256()
    offset = 0
    while offset < entry.size:
        block = snapshot.read_range(entry.path, offset, BLOCK)
        if not block:
            break
        digest.update(block)
        offset += len(block)
    cache.hashed_bytes += offset
    if entry.blob_id:
        cache.remember_blob(entry.blob_id, digest.hexdigest())
    return digest.hexdigest()


def hashed_manifest(
    snapshot: Snapshot,
    files: tuple[FileEntry, ...],
    cache: HashCache,
    known: dict[str, str] | None = None,
) -> tuple[FileEntry, ...]:
    """`files` with every sha256 filled in: declared (LFS oid, Hub), known to git, or hashed."""
    known = known or {}
    return tuple(
        entry
        if entry.sha256 is not None
        else replace(entry, sha256=known.get(entry.path) or sha256_of(snapshot, entry, cache))
        for entry in files
    )


@dataclass(frozen=True)
class Provenance:
    base: dict[str, object] | None
    repository: str | None
    commit: str | None
    files: tuple[FileEntry, ...]
    training_files: tuple[str, ...] = ()
    training_commit: str | None = None  # the last commit that changed the training code
    datasets: tuple[str, ...] = ()  # as the card names them
    base_files: tuple[FileEntry, ...] = ()  # the base's manifest, hashed, when its files were read
    base_signature: BaseSignature | None = None  # a base folder's own model.sig, checked

    def as_json(self) -> dict[str, object]:
        return {
            "base": self.base,
            "repository": self.repository,
            "commit": self.commit,
            "training_code": {"files": list(self.training_files), "commit": self.training_commit}
            if self.training_files
            else None,
            "datasets": list(self.datasets),
            "files": [
                {"path": f.path, "size": f.size, "sha256": f.sha256, "lfs_pointer": f.lfs_pointer}
                for f in self.files
            ],
            "base_signature": self.base_signature.as_json() if self.base_signature else None,
            "base_files": [
                {"path": f.path, "size": f.size, "sha256": f.sha256, "lfs_pointer": f.lfs_pointer}
                for f in self.base_files
            ],
        }
