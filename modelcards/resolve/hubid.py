"""What a model's files or a user write as "the base": a Hub id, a Hub URL, or a local path.

The Hub accepts namespaced ids (`org/name`) and the legacy un-namespaced ones that predate
organisations (`gpt2`, `bert-base-uncased`, `t5-small`), optionally pinned (`@revision`). Cards
and tools also write the base as a URL (`https://huggingface.co/org/name`), and training stacks
record where the weights were loaded from on the training machine (`/dev/shm/Qwen/Qwen3-14B`).
Plain string work, no imports beyond the standard library: the config stage uses it at start-up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

# huggingface_hub's validate_repo_id: letters, digits, "-", "_", "."; no "--" or ".." anywhere;
# no leading or trailing "-" or "."; at most 96 characters; one optional namespace.
_PART = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
_REPO_ID = re.compile(rf"(?:{_PART}/)?{_PART}")
_REVISION = re.compile(r"[A-Za-z0-9._][A-Za-z0-9._/+-]*")
_HUB_URL = re.compile(
    r"https?://(?:www\.)?(?:huggingface\.co|hf\.co)/(?!datasets/|spaces/)"
    rf"(?P<id>(?:{_PART}/)?{_PART})(?:/(?:tree|blob|resolve)/(?P<rev>[^/?#\s]+))?/?(?:[?#].*)?"
)
_WINDOWS_DRIVE = re.compile(r"[A-Za-z]:[\\/]")
MAX_ID_LENGTH = 96

IdKind = Literal["hub", "path"]


def is_hub_repo_id(value: str) -> bool:
    """An id the Hub accepts for a model repository, namespaced or legacy (no revision)."""
    return (
        len(value) <= MAX_ID_LENGTH
        and _REPO_ID.fullmatch(value) is not None
        and "--" not in value
        and ".." not in value
    )


def is_revision(value: str) -> bool:
    """A branch, tag or commit sha; nothing that could walk out of a refs folder."""
    parts = value.split("/")
    return (
        bool(_REVISION.fullmatch(value))
        and len(value) <= 255
        and all(p not in ("", ".", "..") for p in parts)
    )


def split_hub_reference(value: str) -> tuple[str, str | None] | None:
    """`id` or `id@revision` as (id, revision); None when it is not that shape."""
    repo_id, at, revision = value.partition("@")
    if not is_hub_repo_id(repo_id):
        return None
    if at:
        return (repo_id, revision) if is_revision(revision) else None
    return repo_id, None


def looks_like_local_path(value: str) -> bool:
    """A path on some machine's disk (absolute, home-relative, explicitly relative, Windows)."""
    return (
        value.startswith(("/", "~", "./", "../", ".\\", "..\\"))
        or value in (".", "..")
        or bool(_WINDOWS_DRIVE.match(value))
        or "\\" in value
        or value.count("/") > 1
    )


@dataclass(frozen=True)
class BaseName:
    """A base as some file names it, classified."""

    written: str  # exactly as found
    kind: IdKind
    id: str | None  # the Hub id, for kind "hub" (a URL normalised to its id)
    revision: str | None = None  # from `id@rev` or a URL's /tree/<rev>

    @property
    def reference(self) -> str:
        """What `resolve` takes: `id[@revision]`, or the path."""
        if self.id is None:
            return self.written
        return f"{self.id}@{self.revision}" if self.revision else self.id


def classify_base_name(value: str) -> BaseName | None:
    """A Hub id (namespaced, legacy, pinned, or a Hub URL) or a local path; None if neither."""
    text = value.strip()
    if not text or len(text) > 4096 or any(ord(c) < 32 for c in text):
        return None
    url = _HUB_URL.fullmatch(text)
    if url:
        return BaseName(text, "hub", url.group("id"), url.group("rev"))
    if looks_like_local_path(text):
        return BaseName(text, "path", None)
    parsed = split_hub_reference(text)
    if parsed is not None:
        return BaseName(text, "hub", parsed[0], parsed[1])
    return None
