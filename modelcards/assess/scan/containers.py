"""Tell a file's format by its bytes, not its name, and open containers within a budget.

This is the dispatcher: a top-level file, a zip member and a forward-only stream (a tar member,
decompressed bytes) are each sent to the reader of what they are. Zip members are read the
way torch reads them (zip_members.py); tar, npy and compressed streams have their own modules
and call back into `scan_content` for what they hold. Nesting is followed to a bounded depth
and every decompressed byte counts against a budget, so bombs end as findings.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from typing import IO

from modelcards.assess.findings import EvidenceValue
from modelcards.assess.scan import (
    compressed,
    gguf,
    keras,
    keras_h5,
    npy,
    onnx_check,
    remote_code,
)
from modelcards.assess.scan.exact_reader import exact_view
from modelcards.assess.scan.filescan import (
    PICKLE_FIRST_BYTES,
    FileScan,
    basename,
    extension,
    looks_like_pickle,
)
from modelcards.assess.scan.npy import NPY_MAGIC
from modelcards.assess.scan.pickle_findings import stream_findings
from modelcards.assess.scan.pickle_ops import (
    PICKLE_EXTENSIONS,
    UNKNOWN_SIZE,
    scan_stream,
)
from modelcards.assess.scan.safetensors_check import check_safetensors
from modelcards.assess.scan.tar import is_tar, scan_tar
from modelcards.assess.scan.zip_members import (
    Budget,
    Member,
    MemberError,
    MemberIO,
    check_layout,
    check_names,
    prefetch_heads,
    storage_prefixes,
    torchscript_code_prefixes,
)
from modelcards.resolve.model_files import TEMPLATE_CARRIERS
from modelcards.resolve.snapshot import MAX_LFS_POINTER_BYTES, parse_lfs_pointer

ZIP_LOCAL = b"PK\x03\x04"
ZIP_EMPTY = b"PK\x05\x06"
_CHUNK = 1024 * 1024
# The first byte of every format `scan_member` tells by its head: a large stored member that
# starts with any other byte (most tensors) is data to it, and its head is not read.
FORMAT_FIRST_BYTES = (
    compressed.FIRST_BYTES | PICKLE_FIRST_BYTES | {ZIP_LOCAL[0], ZIP_EMPTY[0], NPY_MAGIC[0]}
)


def scan_zip(scan: FileScan, fh: IO[bytes], *, depth: int, chain: str, name: str) -> None:
    limits = scan.limits
    try:
        zf = zipfile.ZipFile(fh)
        infos = zf.infolist()
    except (
        zipfile.BadZipFile,
        OSError,
        ValueError,
        EOFError,
        NotImplementedError,
        struct.error,
        IndexError,
        OverflowError,
        UnicodeDecodeError,
    ) as exc:
        scan.add("MC113", f"archive cannot be opened: {exc}", {}, chain.rstrip("/") or None)
        scan.gap(f"archive {chain or scan.file} cannot be opened")
        return
    if len(infos) > limits.max_zip_members:
        scan.add(
            "MC110",
            f"archive has {len(infos):,} members (limit {limits.max_zip_members:,})",
            {"members": len(infos)},
            chain.rstrip("/") or None,
        )
        scan.gap(f"only the first {limits.max_zip_members:,} members were read")
        infos = infos[: limits.max_zip_members]
    check_names(scan, infos, chain)
    check_layout(scan, fh, infos, chain)
    torchscript = torchscript_code_prefixes(infos)
    storages = storage_prefixes(infos)
    archive_size = fh.seek(0, io.SEEK_END)
    prefetch_heads(fh, infos)
    for info in infos:
        if info.is_dir():
            continue
        label = chain + info.filename
        if info.flag_bits & 0x1:
            scan.add(
                "MC113",
                "member is flagged as encrypted (torch reads it anyway)",
                {"flag_bits": info.flag_bits},
                label,
            )
        if info.file_size > limits.ratio_floor and info.file_size > limits.max_ratio * max(
            info.compress_size, 1
        ):
            scan.add(
                "MC110",
                f"member declares a {info.file_size // max(info.compress_size, 1):,}"
                f":1 compression ratio ({info.file_size:,} bytes)",
                {"file_size": info.file_size, "compress_size": info.compress_size},
                label,
            )
        try:
            member = Member(scan, fh, info, zf, label)
            scan_member(
                scan,
                member,
                depth=depth,
                name=name,
                torchscript=info.filename.startswith(torchscript),
                storage=_is_storage(info.filename, storages),
                archive_size=archive_size,
            )
        except Budget:
            scan.add(
                "MC110",
                f"archive decompresses past the {limits.max_total_decompressed:,}-byte budget",
                {"budget": limits.max_total_decompressed},
                label,
            )
            scan.gap(f"decompression budget spent at {label}")
            return
        except (MemberError, zlib.error, OSError, EOFError, ValueError) as exc:
            scan.add("MC113", f"member cannot be read: {exc}", {}, label)
            scan.gap(f"member {label} cannot be read")


def _too_deep(scan: FileScan, depth: int, label: str | None) -> bool:
    if depth <= scan.limits.max_zip_depth:
        return False
    limit = scan.limits.max_zip_depth
    scan.add("MC111", f"archive nested deeper than {limit} levels", {"depth": depth}, label)
    scan.gap(f"nested archive {label} not opened")
    return True


def scan_member(
    scan: FileScan,
    member: Member,
    *,
    depth: int,
    name: str,
    torchscript: bool = False,
    storage: bool = False,
    archive_size: int,
) -> None:
    """One zip member; `torchscript`: it lies in a TorchScript archive's code/ folder;
    `storage`: it is a checkpoint's tensor record (`<prefix>/data/<key>`)."""
    limits = scan.limits
    base = basename(member.info.filename)
    if _only_data(member, base, name, archive_size):
        return
    member.fill(limits.member_sniff_bytes)
    head = bytes(member.buf[: limits.member_sniff_bytes])
    label = member.label
    kind = compressed.sniff(head)
    if kind and not _too_deep(scan, depth + 1, label):
        stream: IO[bytes] = MemberIO(member)  # type: ignore[assignment]
        compressed.scan_compressed(
            scan, stream, kind, name=base, label=label, depth=depth, inner=scan_content
        )
    elif kind:
        return
    elif head.startswith(ZIP_LOCAL) or head.startswith(ZIP_EMPTY):
        if _too_deep(scan, depth + 1, label):
            return
        data, complete = member.read_all(limits.max_member_bytes)
        if not complete:
            scan.add(
                "MC110",
                "nested archive is larger than the member budget",
                {"budget": limits.max_member_bytes},
                label,
            )
            scan.gap(f"nested archive {label} larger than the budget")
            return
        scan_zip(scan, io.BytesIO(data), depth=depth + 1, chain=label + "!/", name=base)
    elif head.startswith(NPY_MAGIC):
        npy.scan_npy(scan, MemberIO(member), size=None, member=label)  # type: ignore[arg-type]
    elif looks_like_pickle(head, base, limits) or extension(base) in PICKLE_EXTENSIONS:
        result = scan_stream(
            MemberIO(member),  # type: ignore[arg-type]
            UNKNOWN_SIZE,
            limits,
            can_skip=False,
        )
        named = extension(base) in PICKLE_EXTENSIONS
        if storage and not named and not result.is_pickle:
            return  # a tensor's bytes that only start like a pickle: torch reads numbers there
        if named and not result.is_pickle and result.limit is None:
            scan.add(
                "MC108",
                "member named like a pickle is not a pickle",
                {"first_bytes": head[:8].hex()},
                label,
            )
            return
        findings, why = stream_findings(result, scan.file, member=label, named_pickle=named)
        scan.findings.extend(findings)
        if why:
            scan.gap(f"{label}: {why}")
    elif base.endswith(".py") and torchscript:
        scan.add(
            "MC125",
            "TorchScript source: compiled by torch.jit.load, never imported as Python",
            {},
            label,
        )
    elif base.endswith(".py"):
        data, complete = member.read_all(limits.max_text_bytes)
        scan.findings.extend(
            remote_code.python_findings(data, scan.file, complete=complete, member=label)
        )
        if not complete:
            scan.gap(f"{label}: larger than {limits.max_text_bytes:,} bytes")
    elif base == "config.json" and name.endswith(".keras"):
        data, complete = member.read_all(limits.max_text_bytes)
        _keras_config(scan, data, complete, label)


def _is_storage(filename: str, storages: tuple[str, ...]) -> bool:
    return any(filename.startswith(p) and "/" not in filename[len(p) :] for p in storages)


def _only_data(member: Member, base: str, name: str, archive_size: int) -> bool:
    """True for a member that neither its name nor its first byte asks to check: reading its
    head (4 KiB of every tensor of a checkpoint) would tell nothing more."""
    if extension(base) in PICKLE_EXTENSIONS or base.endswith(".py"):
        return False
    if base == "config.json" and name.endswith(".keras"):
        return False
    first = member.first_byte_of_sniff(archive_size)
    return first is not None and first not in FORMAT_FIRST_BYTES


def _keras_config(scan: FileScan, data: bytes, complete: bool, label: str | None) -> None:
    import json

    if not complete:
        scan.add("MC404", "Keras config is larger than the text budget", {}, label)
        scan.gap(f"{label or scan.file}: config too large")
        hits = keras.search_markers(data)
        scan.findings.extend(keras.raw_marker_findings(hits, scan.file))
        return
    try:
        config = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        scan.add("MC404", f"Keras config is not JSON: {exc}", {}, label)
        scan.findings.extend(keras.raw_marker_findings(keras.search_markers(data), scan.file))
        return
    found = keras.config_findings(config, scan.file, member=label)
    scan.findings.extend(found)
    if any(f.rule == "MC404" for f in found):
        scan.gap(f"{label or scan.file}: config larger than the walk limit")


# --- streams read only forward: tar members, decompressed data ------------------------------


def scan_content(
    scan: FileScan,
    stream: IO[bytes],
    head: bytes,
    *,
    name: str,
    label: str,
    depth: int,
    size: int | None = None,
) -> None:
    """Tell what a forward-only stream holds by its first bytes (`head`, already read from it)
    and scan it; `size` counts from the head on, when known."""
    limits = scan.limits
    base = basename(name)
    reader: IO[bytes] = compressed.Prefixed(head, stream)  # type: ignore[assignment]
    kind = compressed.sniff(head)
    nested = bool(kind) or is_tar(head) or head.startswith((ZIP_LOCAL, ZIP_EMPTY))
    if nested and _too_deep(scan, depth + 1, label):
        return
    if kind:
        compressed.scan_compressed(
            scan, reader, kind, name=base, label=label, depth=depth, inner=scan_content
        )
    elif is_tar(head):
        scan_tar(scan, reader, inner=scan_content, chain=label + "!/", depth=depth + 1, stream=True)
    elif head.startswith((ZIP_LOCAL, ZIP_EMPTY)):
        data = reader.read(limits.max_member_bytes + 1)
        if len(data) > limits.max_member_bytes:
            budget = limits.max_member_bytes
            scan.add(
                "MC110",
                "nested archive is larger than the member budget",
                {"budget": budget},
                label,
            )
            scan.gap(f"nested archive {label} larger than the budget")
            return
        scan_zip(scan, io.BytesIO(data), depth=depth + 1, chain=label + "!/", name=base)
    elif head.startswith(NPY_MAGIC):
        npy.scan_npy(scan, reader, size=size, member=label)
    elif (
        looks_like_pickle(head, base, limits)
        or extension(base) in PICKLE_EXTENSIONS
        or base == "pickle"
    ):
        named = extension(base) in PICKLE_EXTENSIONS or base == "pickle"
        result = scan_stream(reader, UNKNOWN_SIZE if size is None else size, limits, can_skip=False)
        if not result.is_pickle and result.limit is None:
            if named:
                first: dict[str, EvidenceValue] = {"first_bytes": head[:8].hex()}
                scan.add("MC108", "member named like a pickle is not a pickle", first, label)
            return
        findings, gap = stream_findings(result, scan.file, member=label, named_pickle=named)
        scan.findings.extend(findings)
        if gap:
            scan.gap(f"{label}: {gap}")
    elif base.endswith(".py"):
        data = reader.read(limits.max_text_bytes + 1)
        complete = len(data) <= limits.max_text_bytes
        scan.findings.extend(
            remote_code.python_findings(
                data[: limits.max_text_bytes], scan.file, complete=complete, member=label
            )
        )


# --- top-level files -------------------------------------------------------------------------


def _has_zip_tail(fh: IO[bytes], size: int) -> bool:
    span = min(size, 65_535 + 22)
    fh.seek(size - span)
    return ZIP_EMPTY in fh.read(span)


def scan_regular_file(scan: FileScan, fh: IO[bytes], size: int, name: str) -> None:
    """Everything we know how to check about one regular file open at `fh`."""
    limits = scan.limits
    lower = name.lower()
    base = basename(lower)
    ext = extension(base)
    exact = exact_view(fh, size)  # for the head and zips: read no more than asked
    exact.seek(0)
    head = exact.read(limits.sniff_bytes)

    pointer = parse_lfs_pointer(head) if size <= MAX_LFS_POINTER_BYTES else None
    if pointer is not None:
        scan.add(
            "MC123",
            f"Git LFS pointer to {pointer.size:,} bytes (sha256 {pointer.oid})",
            {"sha256": pointer.oid, "size": pointer.size},
        )
        scan.gap("Git LFS pointer: content not present")
        return

    if head.startswith(gguf.MAGIC):
        gguf.scan_gguf(scan, fh, size)
        return
    if ext == ".gguf":
        scan.add("MC143", "named .gguf but no GGUF magic", {"first_bytes": head[:8].hex()})
    if base in TEMPLATE_CARRIERS or ext == ".jinja":
        from modelcards.assess.scan import chat_template  # Jinja2: only for a template file

        fh.seek(0)
        raw = fh.read(limits.max_text_bytes)
        scan.findings.extend(chat_template.file_findings(raw, scan.file, base))
    if base in remote_code.AUTO_MAP_FILES or ext == ".py":
        fh.seek(0)
        raw = fh.read(limits.max_text_bytes + 1)
        complete = len(raw) <= limits.max_text_bytes
        raw = raw[: limits.max_text_bytes]
        if ext == ".py":
            scan.findings.extend(remote_code.python_findings(raw, scan.file, complete=complete))
        elif complete:
            scan.findings.extend(remote_code.auto_map_findings(raw, scan.file))
        if not complete:
            scan.gap(f"larger than {limits.max_text_bytes:,} bytes")
        return

    kind = compressed.sniff(head)
    if kind:  # gzip/bz2/xz/zlib/lzma: what is inside is scanned like a member
        fh.seek(0)
        compressed.scan_compressed(
            scan, fh, kind, name=base, label=None, depth=0, inner=scan_content
        )
        return
    pickle_head = looks_like_pickle(head, base, limits)
    if pickle_head and ext not in PICKLE_EXTENSIONS:
        # 0x80 0x0N also starts other binary data: call it a pickle only if it parses as one
        fh.seek(0)
        pickle_head = scan_stream(fh, size, limits).is_pickle
    if ext == ".onnx" and not pickle_head:
        onnx_check.scan_onnx(scan, fh, size, scan.path)
        return
    if ext == ".safetensors" and not pickle_head:
        scan.findings.extend(check_safetensors(fh, size, scan.file))
        return
    if is_tar(head) and not pickle_head:
        fh.seek(0)
        scan_tar(scan, fh, inner=scan_content)
        return
    if (
        head.startswith(ZIP_LOCAL)
        or head.startswith(ZIP_EMPTY)
        or (size > 22 and not pickle_head and _has_zip_tail(exact, size))
    ):
        exact.seek(0)
        scan_zip(scan, exact, depth=0, chain="", name=base)
        return
    if head.startswith(NPY_MAGIC):
        fh.seek(0)
        npy.scan_npy(scan, fh, size=size, can_skip=True)
        return
    if keras.HDF5_MAGIC in head[:4096] or ext in (".h5", ".hdf5"):
        _scan_h5(scan, fh, size)
        return
    # numpy.load(allow_pickle=True) unpickles any .npy/.npz without the array magic
    if pickle_head or ext in PICKLE_EXTENSIONS or ext in (".npy", ".npz"):
        fh.seek(0)
        result = scan_stream(fh, size, limits)
        if not pickle_head and not result.is_pickle and result.limit is None:
            scan.add(
                "MC108",
                "named like a pickle but its content is not a pickle",
                {
                    "first_bytes": head[:8].hex(),
                    "file_size": size,
                    "parse_error": result.error or "",
                },
            )
            return
        if pickle_head and ext not in PICKLE_EXTENSIONS:
            scan.add(
                "MC106",
                f"content is a pickle although the name says {ext or 'nothing'}",
                {"first_bytes": head[:8].hex(), "extension": ext},
            )
        findings, why = stream_findings(result, scan.file, named_pickle=True)
        scan.findings.extend(findings)
        if why:
            scan.gap(why)
        if pickle_head and _has_zip_tail(exact, size):
            scan.add("MC113", "file is both a pickle and a zip archive (polyglot)")
            exact.seek(0)
            scan_zip(scan, exact, depth=0, chain="", name=base)


def _scan_h5(scan: FileScan, fh: IO[bytes], size: int) -> None:
    keras_h5.scan_h5(scan, fh, size)
