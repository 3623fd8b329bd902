"""Real hostile and benign model files, generated in code (no torch, no transformers needed).

Pickles are made with `pickle` or hand-written opcode bytes; archives with `zipfile`; arrays
with numpy. Shared by the tests and by bench/scan_bench.py.
"""

from __future__ import annotations

import collections
import io
import os
import pickle
import struct
import zipfile
from pathlib import Path

import corpus_2026_formats
import numpy as np

# --- opcode helpers --------------------------------------------------------------------------


def proto(n: int) -> bytes:
    return b"\x80" + bytes([n])


def glob0(module: str, name: str) -> bytes:
    """GLOBAL (protocols 0-3): 'c' module '\\n' name '\\n'."""
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def sbu(text: str) -> bytes:
    """SHORT_BINUNICODE."""
    raw = text.encode()
    return b"\x8c" + bytes([len(raw)]) + raw


def binunicode(text: str) -> bytes:
    raw = text.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


def binunicode8(text: str) -> bytes:
    raw = text.encode()
    return b"\x8d" + struct.pack("<Q", len(raw)) + raw


def stack_global(module: str, name: str) -> bytes:
    return sbu(module) + sbu(name) + b"\x93"


def call(callable_bytes: bytes, *args: str) -> bytes:
    """callable(*args) via MARK ... TUPLE REDUCE (args as SHORT_BINUNICODE strings)."""
    return callable_bytes + b"(" + b"".join(sbu(a) for a in args) + b"tR"


def call0(callable_bytes: bytes, *args: str) -> bytes:
    """Protocol-0 version: UNICODE args."""
    return callable_bytes + b"(" + b"".join(b"V" + a.encode() + b"\n" for a in args) + b"tR"


def pickle_of(body: bytes, protocol: int = 4) -> bytes:
    return (proto(protocol) if protocol >= 2 else b"") + body + b"."


class Reduce:
    """An object whose pickle calls `func(*args)` on load (for pickle.dumps)."""

    def __init__(self, func: object, *args: object) -> None:
        self.func, self.args = func, args

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return self.func, self.args


# --- torch-like containers -------------------------------------------------------------------


def torch_zip(
    data_pkl: bytes,
    *,
    prefix: str = "archive",
    pkl_name: str = "data.pkl",
    extra: dict[str, bytes] | None = None,
) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(f"{prefix}/{pkl_name}", data_pkl)
        zf.writestr(f"{prefix}/byteorder", b"little")
        zf.writestr(f"{prefix}/data/0", np.arange(16, dtype=np.float32).tobytes())
        zf.writestr(f"{prefix}/version", b"3\n")
        for name, data in (extra or {}).items():
            zf.writestr(f"{prefix}/{name}", data)
    return buf.getvalue()


def checkpoint_pkl() -> bytes:
    """A state_dict pickle shaped like torch.save's: OrderedDict of rebuilt tensors."""
    tensor = (
        glob0("torch._utils", "_rebuild_tensor_v2")
        + b"("
        + b"("
        + binunicode("storage")
        + glob0("torch", "FloatStorage")
        + binunicode("0")
        + binunicode("cpu")
        + b"K\x10tQ"  # BINPERSID
        + b"K\x00"
        + b"K\x04K\x04\x86"
        + b"K\x04K\x01\x86"
        + b"\x89"
        + glob0("collections", "OrderedDict")
        + b")R"
        + b"tR"
    )
    return pickle_of(
        glob0("collections", "OrderedDict")
        + b")R"
        + b"q\x00("
        + binunicode("layer.weight")
        + tensor
        + b"u",
        2,
    )


def legacy_torch(data_pkl: bytes) -> bytes:
    """Legacy torch.save: magic, protocol, sys_info, data and storage-key pickles, then bytes."""
    magic = pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2)
    version = pickle.dumps(1001, protocol=2)
    sys_info = pickle.dumps(
        {
            "protocol_version": 1001,
            "little_endian": True,
            "type_sizes": {"short": 2, "int": 4, "long": 4},
        },
        protocol=2,
    )
    keys = pickle.dumps(["0"], protocol=2)
    return magic + version + sys_info + data_pkl + keys + struct.pack("<q", 16) + bytes(64)


def training_args_pkl() -> bytes:
    """Trainer's training_args.bin, hand-built: TrainingArguments + enums + torch.device."""

    def enum(module: str, cls: str, value: str) -> bytes:
        return stack_global(module, cls) + sbu(value) + b"\x85R"

    state = (
        b"}("
        + sbu("output_dir")
        + sbu("out")
        + sbu("eval_strategy")
        + enum("transformers.trainer_utils", "IntervalStrategy", "steps")
        + sbu("lr_scheduler_type")
        + enum("transformers.trainer_utils", "SchedulerType", "linear")
        + sbu("optim")
        + enum("transformers.training_args", "OptimizerNames", "adamw_torch")
        + sbu("hub_strategy")
        + enum("transformers.trainer_utils", "HubStrategy", "every_save")
        + sbu("save_strategy")
        + enum("transformers.trainer_utils", "SaveStrategy", "steps")
        + sbu("debug")
        + b"]"
        + enum("transformers.debug_utils", "DebugOption", "underflow_overflow")
        + b"a"
        + sbu("_n_gpu")
        + b"K\x01"
        + sbu("device")
        + stack_global("torch", "device")
        + sbu("cpu")
        + b"\x85R"
        + sbu("distributed_state")
        + stack_global("accelerate.state", "PartialState")
        + b")\x81"
        + b"}("
        + sbu("distributed_type")
        + enum("accelerate.utils.dataclasses", "DistributedType", "NO")
        + b"ub"
        + b"u"
    )
    return pickle_of(
        stack_global("transformers.training_args", "TrainingArguments")
        + b"\x94)\x81\x94"
        + state
        + b"b",
        4,
    )


# --- the corpora -----------------------------------------------------------------------------

DANGEROUS_CALLS = [
    ("os", "system"),
    ("posix", "system"),
    ("nt", "system"),
    ("subprocess", "Popen"),
    ("subprocess", "check_output"),
    ("builtins", "eval"),
    ("builtins", "exec"),
    ("builtins", "getattr"),
    ("builtins", "compile"),
    ("builtins", "open"),
    ("__builtin__", "eval"),
    ("runpy", "_run_code"),
    ("webbrowser", "open"),
    ("socket", "create_connection"),
    ("shutil", "rmtree"),
    ("pty", "spawn"),
    ("pickle", "loads"),
    ("_pickle", "loads"),
    ("functools", "partial"),
    ("operator", "attrgetter"),
    ("_operator", "methodcaller"),
    ("pkgutil", "resolve_name"),
    ("pydoc", "locate"),
    ("asyncio.unix_events", "_UnixSubprocessTransport"),
    ("ctypes", "CDLL"),
    ("sys", "modules"),
    ("torch.serialization", "load"),
    ("numpy.testing._private.utils", "runstring"),
    ("timeit", "timeit"),
    ("cProfile", "run"),
    ("_io", "FileIO"),
    ("logging", "FileHandler"),
    ("ssl", "get_server_certificate"),
    ("venv", "create"),
    ("types", "CodeType"),
    ("urllib.request", "urlopen"),
    ("pip", "main"),
    ("uuid", "_get_command_stdout"),
    ("httplib", "HTTPSConnection"),
    ("code", "InteractiveInterpreter.runcode"),
    ("bdb", "Bdb"),
    ("pdb", "run"),
]


def malicious_files() -> dict[str, bytes]:
    """name -> bytes; every file runs a dangerous callable when loaded."""
    files: dict[str, bytes] = {}
    for i, (module, name) in enumerate(DANGEROUS_CALLS):
        p = i % 6
        if p < 2:
            body = call0(glob0(module, name), "id")
        elif p < 4:
            body = call(glob0(module, name), "id")
        else:
            body = call(stack_global(module, name), "id")
        files[f"call_{module}_{name}_p{p}.pkl"] = pickle_of(body, p)
    for p in range(6):
        files[f"reduce_os_system_p{p}.pkl"] = pickle.dumps(Reduce(os.system, "id"), protocol=p)
    files["eval_in_state_dict.pt"] = pickle.dumps(
        collections.OrderedDict(w=np.zeros(2), x=Reduce(eval, "1+1")), protocol=2
    )
    files["torch_zip_os_system.pt"] = torch_zip(pickle_of(call(glob0("os", "system"), "id"), 2))
    files["torch_zip_renamed_member.bin"] = torch_zip(
        pickle_of(call(glob0("subprocess", "call"), "id"), 2), pkl_name="weights_index"
    )
    files["legacy_torch_eval.bin"] = legacy_torch(
        pickle_of(call(glob0("builtins", "eval"), "1"), 2)
    )
    files["object_array.npy"] = _npy(np.array([Reduce(os.system, "id")], dtype=object))
    files["hidden.msgpack"] = pickle.dumps(Reduce(os.system, "id"), protocol=4)
    files["fake.safetensors"] = pickle.dumps(Reduce(exec, "1"), protocol=4)
    files["dotted_pathlib_os_system.pkl"] = pickle_of(
        call(stack_global("pathlib", "os.system"), "id"), 4
    )
    files["memo_stack_global.pkl"] = pickle_of(
        sbu("os")
        + b"\x94"
        + sbu("system")
        + b"\x94"
        + b"00"
        + b"h\x00h\x01\x93"
        + b"("
        + sbu("id")
        + b"tR",
        4,
    )
    files["zip_flag_bits.pt"] = _patch_zip(
        torch_zip(pickle_of(call(glob0("os", "system"), "id"), 2)), flag_or=0x1
    )
    files["zip_bad_crc.pt"] = _patch_zip(
        torch_zip(pickle_of(call(glob0("os", "system"), "id"), 2)), crc=0
    )
    files["broken_after_payload.pkl"] = proto(2) + call(glob0("os", "system"), "id") + b"\xff"
    inner = torch_zip(pickle_of(call(glob0("posix", "system"), "id"), 2))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("inner.pt", inner)
    files["nested.zip"] = buf.getvalue()
    return {
        **files,
        **corpus_2026_pickle.malicious_files(),
        **corpus_2026_formats.malicious_files(),  # GGUF, ONNX, Keras: high or above
    }


def benign_files() -> dict[str, bytes]:
    arrays = collections.OrderedDict(
        (f"layer{i}", np.arange(64, dtype=np.float32) * i) for i in range(4)
    )
    files = {f"ordered_dict_numpy_p{p}.pkl": pickle.dumps(arrays, protocol=p) for p in range(2, 6)}
    files["training_args.bin"] = training_args_pkl()
    files["pytorch_model.bin"] = torch_zip(checkpoint_pkl())
    files["legacy_model.bin"] = legacy_torch(checkpoint_pkl())
    files["numbers.npy"] = _npy(np.arange(100, dtype=np.int64))
    buf = io.BytesIO()
    np.savez(buf, a=np.ones(3), b=np.zeros((2, 2)))
    files["arrays.npz"] = buf.getvalue()
    files["plain_containers.pkl"] = pickle.dumps(
        {
            "ids": [1, 2, 3],
            "names": ("a", "b"),
            "bytes": b"\x00\x01",
            "set": {1, 2},
            "frozen": frozenset({3}),
            "complex": 1 + 2j,
            "slice": slice(1, 2),
        },
        protocol=2,
    )
    return {**files, **corpus_2026_pickle.benign_files(), **corpus_2026_formats.benign_files()}


def _patch_zip(data: bytes, *, flag_or: int = 0, crc: int | None = None) -> bytes:
    """Flip flag bits / CRCs in local and central headers (torch's reader ignores both)."""
    out = bytearray(data)
    for signature, flag_at, crc_at in ((b"PK\x03\x04", 6, 14), (b"PK\x01\x02", 8, 16)):
        pos = out.find(signature)
        while pos >= 0:
            struct.pack_into(
                "<H", out, pos + flag_at, struct.unpack_from("<H", out, pos + flag_at)[0] | flag_or
            )
            if crc is not None:
                struct.pack_into("<I", out, pos + crc_at, crc)
            pos = out.find(signature, pos + 4)
    return bytes(out)


def _npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=True)
    return buf.getvalue()


import corpus_2026_pickle  # noqa: E402 - it builds on the helpers above


def write(files: dict[str, bytes], root: Path) -> list[Path]:
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, data in files.items():
        path = root / name
        path.write_bytes(data)
        paths.append(path)
    return paths
