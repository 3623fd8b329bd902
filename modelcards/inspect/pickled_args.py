"""The settings inside `training_args.bin`, read without unpickling it.

The Hugging Face Trainer saves its TrainingArguments dataclass with `torch.save`: a zip whose
`*/data.pkl` member is the pickle (or, from old torch, a plain pickle stream after a few small
header pickles). The settings are the state dict a BUILD opcode hands to that object. We walk the
opcodes with `pickletools.genops` and rebuild only plain values (str, int, float, bool, None and
lists, tuples, dicts of them; an enum member as its value); nothing is imported or called.

A pickle that names a callable no training stack pickles (`os.system`, `builtins.eval`, ...) is
not a set of training arguments: it is refused whole, so a hostile file yields no values at all.
"""

from __future__ import annotations

import io
import pickletools
import struct
import zipfile
import zlib
from dataclasses import dataclass
from typing import Any

MAX_ARGS_BYTES = 1024 * 1024  # a real training_args.bin is a few KB
MAX_OPCODES = 200_000
MAX_NODES = 50_000  # values rebuilt from one state dict (a TrainingArguments has ~150)
MAX_DEPTH = 20
MAX_PICKLES = 8  # legacy torch.save: magic number, protocol, sys info, the object, storage keys
ZIP_MAGIC = b"PK\x03\x04"
# modules whose classes a saved TrainingArguments holds: enum members are read as their value
TRAINING_STACKS = (
    "transformers",
    "trl",
    "peft",
    "accelerate",
    "sentence_transformers",
    "axolotl",
    "llamafactory",
    "swift",
    "unsloth",
    "datasets",
    "enum",
)
# callables that run code or touch the system: a pickle naming one is refused whole
REFUSED_MODULES = frozenset(
    {"os", "posix", "nt", "subprocess", "sys", "runpy", "importlib", "pty", "socket", "shutil",
     "webbrowser", "code", "codeop", "commands", "pickle", "_pickle", "marshal", "ctypes",
     "types", "operator", "functools", "io", "_io", "tempfile", "multiprocessing", "asyncio",
     "signal", "platform", "pip", "setuptools", "torch.hub", "numpy.f2py"}
)  # fmt: skip
REFUSED_BUILTINS = frozenset(
    {"eval", "exec", "compile", "open", "getattr", "setattr", "delattr", "__import__", "input",
     "globals", "locals", "vars", "breakpoint", "memoryview", "apply", "execfile", "file"}
)  # fmt: skip


# what a corrupt zip raises from zipfile (a bad offset is a ValueError, a bad stream zlib's)
ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, RuntimeError,
              NotImplementedError, ValueError, KeyError, struct.error, zlib.error)  # fmt: skip


class _Opaque:
    """A value we do not rebuild (an object, bytes, a tensor reference)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<opaque>"


OPAQUE = _Opaque()
_MARK = object()


@dataclass(frozen=True)
class _Global:
    module: str
    name: str


@dataclass
class _Object:
    cls: _Global | None
    state: Any = None


@dataclass(frozen=True)
class _EnumCall:
    """`cls(value)`: an enum member when cls belongs to a training stack (decided at the end)."""

    cls: _Global
    value: Any


class RefusedPickle(Exception):
    """The pickle is not a plain set of training arguments (reason in the message)."""


@dataclass(frozen=True)
class PickledArgs:
    cls: str  # module.name of the pickled class, as the pickle names it
    values: dict[str, Any]  # the plain settings of its state dict


def pickle_stream(data: bytes) -> bytes:
    """The pickle bytes of a torch.save file (zip member `*/data.pkl`) or of a plain pickle."""
    if len(data) > MAX_ARGS_BYTES:
        raise RefusedPickle(f"file is larger than {MAX_ARGS_BYTES:,} bytes")
    if not data.startswith(ZIP_MAGIC):
        return data
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = [i for i in archive.infolist() if i.filename.endswith("data.pkl")]
            if len(members) != 1:
                raise RefusedPickle(f"zip holds {len(members)} data.pkl members, not one")
            member = members[0]
            if member.file_size > MAX_ARGS_BYTES:
                raise RefusedPickle(f"{member.filename} is larger than {MAX_ARGS_BYTES:,} bytes")
            with archive.open(member) as stream:
                payload = stream.read(MAX_ARGS_BYTES + 1)
    except ZIP_ERRORS as exc:
        raise RefusedPickle(f"not a readable zip: {exc}") from None
    if len(payload) > MAX_ARGS_BYTES:
        raise RefusedPickle(f"data.pkl is larger than {MAX_ARGS_BYTES:,} bytes")
    return payload


def read_pickled_args(data: bytes) -> PickledArgs | None:
    """The first object with a state dict in the file, or None when there is none.

    Raises RefusedPickle for a file that is malformed, too large or names a refused callable.
    """
    stream = io.BytesIO(pickle_stream(data))
    found: PickledArgs | None = None
    for _ in range(MAX_PICKLES):
        if stream.tell() >= len(stream.getbuffer()):
            break
        result, globals_named = _walk(stream)
        for glob in globals_named:
            if _refused(glob):
                raise RefusedPickle(
                    f"names {glob.module}.{glob.name}, which no training stack pickles"
                )
        if found is None and isinstance(result, _Object) and isinstance(result.state, dict):
            cls = result.cls
            rebuild = _Rebuild({cls.module} if cls else set())
            values = {
                k: v
                for k, v in ((k, rebuild.plain(v)) for k, v in result.state.items())
                if isinstance(k, str) and v is not OPAQUE
            }
            found = PickledArgs(f"{cls.module}.{cls.name}" if cls else "?", values)
    return found


def _refused(glob: _Global) -> bool:
    root = glob.module.split(".")[0]
    if glob.module in REFUSED_MODULES or root in REFUSED_MODULES:
        return True
    return glob.module in ("builtins", "__builtin__") and glob.name in REFUSED_BUILTINS


def _from_stack(glob: _Global, allowed: set[str]) -> bool:
    root = glob.module.split(".")[0]
    return root in TRAINING_STACKS or glob.module in allowed


class _Rebuild:
    """Plain data out of the walked values, within a budget of nodes: the memo lets a pickle
    make a list that holds itself many times over, which a naive walk would follow forever."""

    def __init__(self, allowed: set[str], budget: int = MAX_NODES) -> None:
        self.allowed = allowed
        self.left = budget

    def plain(self, value: Any, depth: int = 0) -> Any:
        """`value` as plain data, OPAQUE when any part is not; enum calls resolved."""
        self.left -= 1
        if depth > MAX_DEPTH or self.left < 0:
            return OPAQUE
        if value is None or isinstance(value, (str, bool, int, float)):
            return value
        if isinstance(value, _EnumCall):
            ok = _from_stack(value.cls, self.allowed) and value.cls.name[:1].isupper()
            return value.value if ok and isinstance(value.value, (str, int)) else OPAQUE
        if isinstance(value, (list, tuple)):
            items = [self.plain(v, depth + 1) for v in value]
            return OPAQUE if any(i is OPAQUE for i in items) else items
        if isinstance(value, dict):
            pairs = {k: self.plain(v, depth + 1) for k, v in value.items()}
            if any(not isinstance(k, (str, int)) or v is OPAQUE for k, v in pairs.items()):
                return OPAQUE
            return pairs
        return OPAQUE


_SCALARS = {"NONE": None, "NEWTRUE": True, "NEWFALSE": False}
_VALUE_OPS = {
    "INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4", "FLOAT", "BINFLOAT",
    "STRING", "BINSTRING", "SHORT_BINSTRING", "UNICODE", "BINUNICODE", "SHORT_BINUNICODE",
    "BINUNICODE8",
}  # fmt: skip
_BYTES_OPS = {"BINBYTES", "SHORT_BINBYTES", "BINBYTES8", "BYTEARRAY8"}


def _pop_mark(stack: list[Any]) -> list[Any]:
    for i in range(len(stack) - 1, -1, -1):
        if stack[i] is _MARK:
            items = stack[i + 1 :]
            del stack[i:]
            return items
    raise RefusedPickle("MARK missing")


def _walk(stream: io.BytesIO) -> tuple[Any, list[_Global]]:
    """Run one pickle's opcodes on a value stack (no call made); its result and the globals."""
    stack: list[Any] = []
    memo: dict[int, Any] = {}
    named: list[_Global] = []
    try:
        for count, (op, arg, _pos) in enumerate(pickletools.genops(stream)):
            if count > MAX_OPCODES:
                raise RefusedPickle(f"more than {MAX_OPCODES:,} opcodes")
            _step(op.name, arg, stack, memo, named)
            if op.name == "STOP":
                return (stack[-1] if stack else None), named
    except RefusedPickle:
        raise
    except (ValueError, IndexError, KeyError, TypeError, AttributeError, struct.error) as exc:
        raise RefusedPickle(f"malformed pickle: {exc}") from None
    raise RefusedPickle("pickle ends without STOP")


def _step(
    name: str, arg: Any, stack: list[Any], memo: dict[int, Any], named: list[_Global]
) -> None:
    if name in _VALUE_OPS:
        stack.append(arg.decode("latin-1") if isinstance(arg, bytes) else arg)
    elif name in _SCALARS:
        stack.append(_SCALARS[name])
    elif name in _BYTES_OPS or name in ("PERSID", "BINPERSID", "READONLY_BUFFER"):
        if name == "BINPERSID":
            stack.pop()
        stack.append(OPAQUE)
    elif name == "NEXT_BUFFER":
        stack.append(OPAQUE)
    elif name in ("EMPTY_DICT",):
        stack.append({})
    elif name in ("EMPTY_LIST",):
        stack.append([])
    elif name == "EMPTY_TUPLE":
        stack.append(())
    elif name in ("EMPTY_SET",):
        stack.append(OPAQUE)
    elif name == "MARK":
        stack.append(_MARK)
    elif name == "TUPLE":
        stack.append(tuple(_pop_mark(stack)))
    elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
        n = int(name[-1])
        popped = tuple(stack[-n:])
        del stack[-n:]
        stack.append(popped)
    elif name == "LIST":
        stack.append(list(_pop_mark(stack)))
    elif name == "DICT":
        stack.append(_pairs(_pop_mark(stack)))
    elif name in ("FROZENSET",):
        _pop_mark(stack)
        stack.append(OPAQUE)
    elif name == "ADDITEMS":
        _pop_mark(stack)
    elif name == "APPEND":
        item = stack.pop()
        if isinstance(stack[-1], list):
            stack[-1].append(item)
    elif name == "APPENDS":
        appended = _pop_mark(stack)
        if isinstance(stack[-1], list):
            stack[-1].extend(appended)
    elif name == "SETITEM":
        value = stack.pop()
        key = stack.pop()
        _setitems(stack[-1], [key, value])
    elif name == "SETITEMS":
        pairs = _pop_mark(stack)
        _setitems(stack[-1], pairs)
    elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
        memo[int(arg)] = stack[-1]
    elif name == "MEMOIZE":
        memo[len(memo)] = stack[-1]
    elif name in ("GET", "BINGET", "LONG_BINGET"):
        stack.append(memo[int(arg)])
    elif name == "GLOBAL":
        module, _, attr = str(arg).partition(" ")
        named.append(_Global(module, attr))
        stack.append(named[-1])
    elif name == "STACK_GLOBAL":
        attr, module = stack.pop(), stack.pop()
        glob = _Global(str(module), str(attr))
        named.append(glob)
        stack.append(glob)
    elif name in ("INST", "OBJ"):
        raise RefusedPickle(f"{name} opcode: a call no TrainingArguments pickle makes")
    else:
        _call(name, stack)


def _call(name: str, stack: list[Any]) -> None:
    """The opcodes that build objects, recorded, never performed."""
    if name == "NEWOBJ":
        stack.pop()  # args
        cls = stack.pop()
        stack.append(_Object(cls if isinstance(cls, _Global) else None))
    elif name == "NEWOBJ_EX":
        del stack[-2:]  # args, kwargs
        cls = stack.pop()
        stack.append(_Object(cls if isinstance(cls, _Global) else None))
    elif name == "REDUCE":
        args = stack.pop()
        func = stack.pop()
        stack.append(_reduce(func, args))
    elif name == "BUILD":
        state = stack.pop()
        target = stack[-1]
        if isinstance(target, _Object) and target.state is None:
            if isinstance(state, tuple) and len(state) == 2 and isinstance(state[0], dict):
                state = state[0]  # (dict state, slot state)
            target.state = state
    elif name == "POP":
        stack.pop()
    elif name == "POP_MARK":
        _pop_mark(stack)
    elif name == "DUP":
        stack.append(stack[-1])
    elif name in ("PROTO", "FRAME", "STOP"):
        pass
    else:
        raise RefusedPickle(f"unexpected opcode {name}")


def _reduce(func: Any, args: Any) -> Any:
    if not isinstance(func, _Global) or not isinstance(args, tuple):
        return OPAQUE
    if func.module == "copyreg" and func.name == "_reconstructor" and args:
        return _Object(args[0] if isinstance(args[0], _Global) else None)
    if func.module in ("collections", "builtins") and func.name in ("OrderedDict", "dict"):
        return {} if not args else OPAQUE
    if len(args) == 1 and isinstance(args[0], (str, int)) and not isinstance(args[0], bool):
        return _EnumCall(func, args[0])
    return OPAQUE


def _pairs(items: list[Any]) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    _setitems(out, items)
    return out


def _setitems(target: Any, items: list[Any]) -> None:
    if not isinstance(target, dict):
        return
    for key, value in zip(items[::2], items[1::2], strict=False):
        if isinstance(key, (str, int)) and not isinstance(key, bool):
            target[key] = value
