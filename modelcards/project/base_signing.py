"""Which key a base folder's own signature is checked with, and what of it the card depends on.

A model's `base_signing_key` is meant for its base: a signature by another key does not verify.
Without one, the project's own `policy.signing_key` is tried (a base that is another model of
the project is signed by the same team): a signature by another key is then only "signed",
never "does not verify". Only a base read from a folder is looked at; a Hub base or one read
from git at a revision has no signature here, and the card says nothing about it. A model's own
signatures are checked against its keyless signer, else the project's key (`signature_check`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

from modelcards.history.base_signature import BaseSignature, base_signature, signature_inputs
from modelcards.history.keyless import KeylessIdentity
from modelcards.history.signatures import CARD_SIGNATURE, MODEL_SIGNATURE
from modelcards.project.config import ModelEntry, ProjectConfig
from modelcards.resolve import FileEntry, Snapshot
from modelcards.resolve.local import LocalSnapshot
from modelcards.safeio.errors import ConfigError

_CHECKED: dict[tuple[object, ...], BaseSignature] = {}  # many models share one base and key
_READ: dict[tuple[object, ...], str | None] = {}  # a file's digest by its stat, read once a run


def _key(config: ProjectConfig, entry: ModelEntry) -> tuple[Path | None, str | None, bool]:
    """(public key, the config key it was given under, meant for the base)."""
    if entry.base_signing_key is not None:
        return config.root / entry.base_signing_key.path, entry.base_signing_key.where, True
    if config.policy.signing_key is not None:
        return config.root / config.policy.signing_key, "policy.signing_key", False
    return None, None, False


def signature_check(config: ProjectConfig, entry: ModelEntry) -> Path | KeylessIdentity:
    """What a model's own signatures are checked against (check's policy, the site's badge):
    its keyless signer when it has one, else the project's `policy.signing_key`."""
    if entry.signing_identity is not None:
        return entry.signing_identity
    if config.policy.signing_key is None:
        raise ConfigError(f"{entry.name}: no policy.signing_key or signing_identity to check "
                          "its signature with", file=config.file)  # fmt: skip
    key = config.root / config.policy.signing_key
    if not key.resolve().is_relative_to(config.root.resolve()) or not key.is_file():
        raise ConfigError("policy.signing_key: no such file in the project", file=config.file)
    return key


def _folder(snapshot: Snapshot | None) -> Path | None:
    return snapshot.root if isinstance(snapshot, LocalSnapshot) else None


def signature_fingerprint(
    config: ProjectConfig, entry: ModelEntry, snapshot: Snapshot | None
) -> list[str | None] | None:
    """What the card's base-signature line is made of besides the base's files: its model.sig
    and card.sig, and the key (name and bytes); None for a base with no signature."""
    folder = _folder(snapshot)
    signed = _once(folder, signature_inputs) if folder is not None else None
    if signed is None:
        return None
    key, where, _meant = _key(config, entry)
    return [signed, where, _once(key, _digest) if key is not None else None]


def signing_key_digest(config: ProjectConfig, entry: ModelEntry) -> str | None:
    """The bytes of the key a base's signature is checked with, digested (a record's key names
    them: the key file lies outside the model and base folders whose blob ids it lists)."""
    key, _where, _meant = _key(config, entry)
    return _once(key, _digest) if key is not None else None


def _digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _once(path: Path, read: Callable[[Path], str | None]) -> str | None:
    """`read(path)`, again only when the file (or a signature in the folder) changed: a fleet
    of models over one signed base reads its signature once, not once per model."""
    stamps: list[object] = [path, read.__name__]
    for name in ("", MODEL_SIGNATURE, CARD_SIGNATURE) if path.is_dir() else ("",):
        try:
            info = os.stat(path / name) if name else os.stat(path)
            stamps.append((info.st_ino, info.st_size, info.st_mtime_ns))
        except OSError:
            stamps.append(None)
    memo = tuple(stamps)
    if memo not in _READ:
        if len(_READ) >= 256:
            _READ.pop(next(iter(_READ)))
        _READ[memo] = read(path)
    return _READ[memo]


def signature_of(
    config: ProjectConfig,
    entry: ModelEntry,
    snapshot: Snapshot | None,
    files: tuple[FileEntry, ...],
) -> BaseSignature | None:
    """The base's signature for the card's provenance; None when the base is no folder."""
    folder = _folder(snapshot)
    if folder is None:
        return None
    key, where, meant = _key(config, entry)
    memo = (folder, key, where, meant, _once(folder, signature_inputs), hash(files))
    if memo not in _CHECKED:
        if len(_CHECKED) >= 64:
            _CHECKED.pop(next(iter(_CHECKED)))
        _CHECKED[memo] = base_signature(folder, files, key, where, explicit=meant)
    return _CHECKED[memo]
