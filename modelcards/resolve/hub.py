"""A model on the Hugging Face Hub, read online: metadata and small files only, never weights.

Through the real huggingface_hub client:

- `HfApi.model_info(files_metadata=True)` pins the revision to a commit sha and lists every file
  with its size and, for LFS files, its sha256;
- small non-weight files (configs, tokenizer files, README, chat templates; at most
  `MAX_DOWNLOAD_BYTES`) are fetched with `hf_hub_download` when first read;
- `.safetensors` files are never downloaded: `_read` serves HTTP range reads, and only inside the
  header (the 8-byte length, then the JSON header it announces). Other weight files are listed
  (size + sha256 from the metadata) but not readable.

Downloads go to a private temporary cache, not the shared Hugging Face cache: a snapshot there
holding configs without weights would later be read offline as a model without weights.

`HF_ENDPOINT` is read when the snapshot is opened (huggingface_hub reads it once, at import) and
passed explicitly to every call. The user's token (HF_TOKEN or the stored login) is sent by
huggingface_hub; this module never reads, stores or writes it.
"""

from __future__ import annotations

import os
import re
import struct
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

from huggingface_hub import HfApi, constants, hf_hub_download
from huggingface_hub.errors import (
    GatedRepoError,
    HfHubHTTPError,
    OfflineModeIsEnabled,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status, httpx

from modelcards import __version__
from modelcards.resolve.hfcache import hub_offline
from modelcards.resolve.snapshot import FileEntry, Snapshot, SourceRef, relative_path_problem
from modelcards.safeio.errors import ResolveError

MAX_DOWNLOAD_BYTES = 16 * 1024 * 1024
MAX_HEADER_BYTES = 100 * 1024 * 1024  # safetensors' own limit on the JSON header
WEIGHT_SUFFIXES = (
    ".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".h5", ".msgpack", ".gguf", ".onnx",
    ".pkl", ".pickle", ".npz", ".npy", ".ot", ".tflite", ".mlmodel", ".joblib", ".keras",
)  # fmt: skip
TIMEOUT_SECONDS = 30.0
_COMMIT = re.compile(r"[0-9a-f]{40}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_NETWORK_ERRORS = (HfHubHTTPError, OfflineModeIsEnabled, httpx.HTTPError, OSError)


def hub_endpoint() -> str:
    """The Hub endpoint from the environment as it is now (HF_ENDPOINT), else the client's."""
    value = os.environ.get("HF_ENDPOINT")
    return (value or constants.ENDPOINT).rstrip("/")


class HubSnapshot(Snapshot):
    """One commit of a Hub model repository, read lazily and partially over HTTP."""

    def __init__(
        self,
        repo_id: str,
        revision: str | None = None,
        *,
        hub_id: str | None = None,
        token: str | bool | None = None,
        endpoint: str | None = None,
    ) -> None:
        if hub_offline():
            raise ResolveError("HF_HUB_OFFLINE is set: the Hub is not contacted", file=repo_id)
        self.repo_id = repo_id
        self.endpoint = (endpoint or hub_endpoint()).rstrip("/")
        self._token = token  # None: whatever huggingface_hub finds (HF_TOKEN, stored login)
        label = f"{repo_id}@{revision}" if revision else repo_id
        api = HfApi(
            endpoint=self.endpoint,
            token=token,
            library_name="modelcards",
            library_version=__version__,
        )
        try:
            info = api.model_info(
                repo_id, revision=revision, files_metadata=True, timeout=TIMEOUT_SECONDS
            )
        except RevisionNotFoundError:
            raise ResolveError(
                f"no such revision on the Hub ({self.endpoint})", file=label
            ) from None
        except GatedRepoError:
            raise ResolveError(
                "gated repository: accept its terms on the Hub and log in "
                "(HF_TOKEN or `hf auth login`)",
                file=label,
            ) from None
        except RepositoryNotFoundError:
            raise ResolveError(
                f"no such model on the Hub ({self.endpoint}), or it is private "
                "and no valid token was given",
                file=label,
            ) from None
        except _NETWORK_ERRORS as exc:
            raise ResolveError(
                f"cannot reach the Hub at {self.endpoint}: {_first_line(exc)}", file=label
            ) from None
        sha = info.sha or ""
        if not _COMMIT.fullmatch(sha):
            raise ResolveError(
                f"the Hub did not give a commit sha for this revision ({sha!r})", file=label
            )
        if info.siblings is None:
            raise ResolveError("the Hub did not list the repository's files", file=label)
        self.commit_sha = sha
        self.ref = SourceRef(kind="hub", location=repo_id, revision=sha, hub_id=hub_id or repo_id)
        self.skipped: list[tuple[str, str]] = []
        self._entries = tuple(sorted(self._list(info.siblings), key=lambda e: e.path))
        self._downloads: dict[str, Path] = {}
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._header_end: dict[str, int] = {}
        self.bytes_requested = 0  # bytes asked of the Hub for range reads (for reports and tests)

    def files(self) -> tuple[FileEntry, ...]:
        return self._entries

    def _read(self, path: str, offset: int, length: int) -> bytes:
        if length <= 0:
            return b""
        if path.endswith(".safetensors"):
            return self._header_range(path, offset, length)
        entry = self.entry(path)
        assert entry is not None
        if path.endswith(WEIGHT_SUFFIXES):
            raise ResolveError("weight files are not downloaded from the Hub", file=path)
        if entry.size > MAX_DOWNLOAD_BYTES:
            raise ResolveError(
                f"file is {entry.size:,} bytes; files over {MAX_DOWNLOAD_BYTES:,} "
                "are not downloaded from the Hub",
                file=path,
            )
        local = self._download(path)
        with open(local, "rb") as handle:
            handle.seek(offset)
            return handle.read(length)

    def close(self) -> None:
        """Remove the downloaded small files (also done when the snapshot is collected)."""
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
            self._downloads.clear()

    # -- listing ---------------------------------------------------------------------------

    def _list(self, siblings: list[Any]) -> list[FileEntry]:
        entries = []
        for sibling in siblings:
            name = sibling.rfilename
            if relative_path_problem(name):
                self.skipped.append((str(name), "unsafe file name in the Hub listing"))
                continue
            lfs = sibling.lfs
            if lfs is not None:
                size, sha256 = lfs.size, lfs.sha256
                if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
                    sha256 = None
            else:
                size, sha256 = sibling.size, None
            if not isinstance(size, int) or isinstance(size, bool) or size < 0:
                self.skipped.append((name, "the Hub listing gives no size"))
                continue
            blob_id = sibling.blob_id if isinstance(sibling.blob_id, str) else None
            entries.append(FileEntry(name, size, sha256=sha256, blob_id=blob_id))
        return entries

    # -- reading ---------------------------------------------------------------------------

    def _download(self, path: str) -> Path:
        cached = self._downloads.get(path)
        if cached is not None:
            return cached
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="modelcards-hub-")
        try:
            local = hf_hub_download(
                self.repo_id,
                path,
                revision=self.commit_sha,
                cache_dir=self._tmp.name,
                endpoint=self.endpoint,
                token=self._token,
                library_name="modelcards",
                library_version=__version__,
            )
        except _NETWORK_ERRORS as exc:
            raise ResolveError(
                f"cannot download from the Hub: {_first_line(exc)}", file=path
            ) from None
        result = Path(str(local))
        if result.stat().st_size > MAX_DOWNLOAD_BYTES:
            raise ResolveError("the downloaded file is larger than the Hub listing said", file=path)
        self._downloads[path] = result
        return result

    def _header_range(self, path: str, offset: int, length: int) -> bytes:
        """Range reads inside a safetensors header; the tensor data is never requested."""
        end = self._header_end.get(path)
        if end is None:
            prefix = self._http_range(path, 0, 8)
            if len(prefix) < 8:
                return prefix[offset : offset + length]
            (declared,) = struct.unpack("<Q", prefix)
            end = 8 + min(declared, MAX_HEADER_BYTES)
            self._header_end[path] = end
            if offset + length <= 8:
                return prefix[offset : offset + length]
        if offset + length > end:
            raise ResolveError(
                "only the safetensors header is read from the Hub, never the "
                f"tensor data (asked for bytes {offset:,}-{offset + length - 1:,}, "
                f"header ends at {end:,})",
                file=path,
            )
        return self._http_range(path, offset, length)

    def _http_range(self, path: str, offset: int, length: int) -> bytes:
        # built here rather than by hf_hub_url, which starts from the endpoint read at import
        url = f"{self.endpoint}/{self.repo_id}/resolve/{self.commit_sha}/{quote(path)}"
        headers = build_hf_headers(
            token=self._token, library_name="modelcards", library_version=__version__
        )
        headers["Range"] = f"bytes={offset}-{offset + length - 1}"
        headers["Accept-Encoding"] = "identity"
        self.bytes_requested += length
        parts: list[bytes] = []
        try:
            with get_session().stream(
                "GET", url, headers=headers, timeout=TIMEOUT_SECONDS
            ) as response:
                if response.status_code >= 400:
                    response.read()
                    hf_raise_for_status(response)
                if response.status_code == 200 and offset != 0:
                    raise ResolveError(
                        "the Hub ignored a range request; not downloading the whole file", file=path
                    )
                if response.status_code not in (200, 206):
                    raise ResolveError(
                        f"unexpected HTTP status {response.status_code} for a range read", file=path
                    )
                received = 0
                for chunk in response.iter_bytes():
                    parts.append(chunk[: length - received])
                    received += len(parts[-1])
                    if received >= length:
                        break  # leaving the block closes the connection: nothing more is read
        except _NETWORK_ERRORS as exc:
            raise ResolveError(f"cannot read from the Hub: {_first_line(exc)}", file=path) from None
        return b"".join(parts)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
