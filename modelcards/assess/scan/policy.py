"""Which imports a pickle (or a Keras config) may name: an allowlist, a denylist, and the rest.

The allowlist is what real checkpoints, numpy arrays and Trainer state need. The denylist names
callables that run code, spawn processes, touch files or the network, or load another pickle.
Everything else is *unverified*: we cannot say it is safe, so we never do.
"""

from __future__ import annotations

import _compat_pickle
import enum

# Modules that are another name for a dangerous module (checked on the first component).
ALIASES = {
    "posix": "os", "nt": "os", "__builtin__": "builtins", "__builtins__": "builtins",
    "_io": "io", "_pickle": "pickle", "cPickle": "pickle", "_operator": "operator",
    "_functools": "functools", "_posixsubprocess": "subprocess", "_socket": "socket",
    "_thread": "threading", "thread": "threading", "_ctypes": "ctypes", "_winapi": "subprocess",
    "numpy._core": "numpy.core", "copy_reg": "copyreg", "_marshal": "marshal",
    "_imp": "importlib", "imp": "importlib", "_frozen_importlib": "importlib",
    "_frozen_importlib_external": "importlib", "_multiprocessing": "multiprocessing",
}  # fmt: skip

ALL = "*"

# module -> names (or "*" for the module and every submodule) that run code or do I/O on call.
DANGEROUS: dict[str, frozenset[str] | str] = {
    "os": ALL, "subprocess": ALL, "pty": ALL, "runpy": ALL, "socket": ALL, "shutil": ALL,
    "webbrowser": ALL, "pickle": ALL, "marshal": ALL, "importlib": ALL, "pip": ALL, "code": ALL,
    "codeop": ALL, "ctypes": ALL, "sys": ALL, "asyncio": ALL, "aiohttp": ALL, "bdb": ALL,
    "pdb": ALL, "commands": ALL, "popen2": ALL, "httplib": ALL, "http": ALL, "urllib": ALL,
    "urllib2": ALL, "requests": ALL, "ftplib": ALL, "smtplib": ALL, "telnetlib": ALL,
    "xmlrpc": ALL, "ssl": ALL, "cProfile": ALL, "profile": ALL, "timeit": ALL, "trace": ALL,
    "venv": ALL, "ensurepip": ALL, "test": ALL, "uuid": ALL, "_osx_support": ALL,
    "_aix_support": ALL, "_pyrepl": ALL, "pydoc": ALL, "multiprocessing": ALL,
    "threading": ALL, "signal": ALL, "dill": ALL, "cloudpickle": ALL,
    "zipimport": ALL, "site": ALL, "distutils": ALL, "setuptools": ALL, "tempfile": ALL,
    "joblib": frozenset({"load", "numpy_pickle.load", "numpy_pickle.NumpyUnpickler"}),
    "socketserver": ALL, "smtpd": ALL, "nturl2path": ALL, "zipfile": ALL,
    "tarfile": ALL, "sqlite3": ALL, "dbm": ALL, "shelve": ALL, "mmap": ALL,
    "numpy.f2py": ALL, "numpy.distutils": ALL, "numpy.testing": ALL, "torch.hub": ALL,
    "torch.jit": ALL, "torch.package": ALL, "torch._inductor": ALL, "torch._dynamo": ALL,
    "torch.utils.collect_env": ALL, "torch.utils.bottleneck": ALL, "doctest": ALL,
    "idlelib": ALL, "lib2to3": ALL, "imaplib": ALL, "builtins": frozenset({
        "eval", "exec", "compile", "open", "__import__", "getattr", "setattr", "delattr",
        "globals", "locals", "vars", "input", "breakpoint", "apply", "execfile", "file",
        "reload", "help", "exit", "quit", "type", "super", "__loader__", "__spec__",
    }),
    "io": frozenset({"open", "FileIO", "open_code", "BufferedReader", "BufferedWriter",
                     "TextIOWrapper", "BufferedRandom"}),
    "codecs": frozenset({"open", "EncodedFile"}),
    "logging": frozenset({"FileHandler", "handlers", "config"}),
    "operator": frozenset({"attrgetter", "methodcaller", "itemgetter", "call"}),
    "functools": frozenset({"partial", "reduce", "partialmethod", "singledispatch"}),
    "pkgutil": frozenset({"resolve_name", "get_data", "get_loader", "find_loader",
                          "iter_modules", "walk_packages", "ImpImporter"}),
    "types": frozenset({"FunctionType", "CodeType", "LambdaType", "MethodType", "ModuleType",
                        "BuiltinFunctionType"}),
    "torch": frozenset({"load", "from_file", "_C", "ops", "classes", "hub", "jit", "package",
                        "_inductor", "_dynamo"}),
    "torch.serialization": frozenset({"load", "_load"}),
    "torch.storage": frozenset({"_load_from_bytes"}),
    "torch.utils._config_module": frozenset({"ConfigModule"}),
    "torch.utils.data.datapipes.utils.decoder": frozenset({"basichandlers"}),
    "torch.fx.experimental.symbolic_shapes": frozenset({"ShapeEnv"}),
    "numpy": frozenset({"load", "loadtxt", "fromfile", "save", "savez", "tofile", "genfromtxt",
                        "memmap"}),
    "numpy.lib": frozenset({"npyio", "format"}),
    "linecache": frozenset({"getline", "getlines", "updatecache"}),
    "copyreg": frozenset({"_extension_registry", "add_extension"}),
}  # fmt: skip

# module -> names known to be what checkpoints, arrays and Trainer state need.
_TORCH_STORAGES = frozenset(
    f"{kind}Storage" for kind in (
        "Float", "Half", "BFloat16", "Double", "Long", "Int", "Short", "Char", "Byte", "Bool",
        "ComplexFloat", "ComplexDouble", "QInt8", "QUInt8", "QInt32", "QUInt4x2", "QUInt2x4",
        "Untyped", "Typed",
    )
)  # fmt: skip
_TORCH_DTYPES = frozenset({
    "float32", "float", "float16", "half", "bfloat16", "float64", "double", "int64", "long",
    "int32", "int", "int16", "short", "int8", "uint8", "uint16", "uint32", "uint64", "bool",
    "complex64", "complex128", "cfloat", "cdouble", "complex32", "chalf", "qint8", "quint8",
    "qint32", "quint4x2", "quint2x4", "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz",
    "float8_e5m2fnuz", "float8_e8m0fnu", "float4_e2m1fn_x2", "strided", "sparse_coo",
    "sparse_csr", "sparse_csc", "sparse_bsr", "sparse_bsc", "_mkldnn", "per_tensor_affine",
    "per_channel_affine", "per_tensor_symmetric", "per_channel_symmetric",
    "per_channel_affine_float_qparams", "contiguous_format", "channels_last",
    "channels_last_3d", "preserve_format",
})  # fmt: skip

SAFE: dict[str, frozenset[str] | str] = {
    "torch": _TORCH_STORAGES | _TORCH_DTYPES | frozenset({"device", "Size", "dtype", "Tensor"}),
    "torch.storage": frozenset({"UntypedStorage", "TypedStorage"}),
    "torch._utils": frozenset({
        "_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_tensor_v3", "_rebuild_parameter",
        "_rebuild_parameter_with_state", "_rebuild_sparse_tensor", "_rebuild_qtensor",
        "_rebuild_meta_tensor_no_storage", "_rebuild_wrapper_subclass",
        "_rebuild_device_tensor_from_numpy", "_rebuild_nested_tensor",
        "_rebuild_device_tensor_from_cpu_tensor",
    }),
    "torch._tensor": frozenset({"_rebuild_from_type_v2", "_rebuild_from_type"}),
    "torch.serialization": frozenset({"_get_layout"}),
    "torch.nn.parameter": frozenset({"Parameter"}),
    "collections": frozenset({"OrderedDict", "defaultdict", "Counter", "deque"}),
    "numpy.core.multiarray": frozenset({"_reconstruct", "scalar"}),
    "numpy.core.numeric": frozenset({"_frombuffer"}),
    "numpy": frozenset({"dtype", "ndarray"}),
    "numpy.dtypes": ALL,
    # RandomState / Generator pickles: constructors that look bit generators up by name
    "numpy.random._pickle": frozenset({"__randomstate_ctor", "__generator_ctor",
                                       "__bit_generator_ctor"}),
    "numpy.random._mt19937": frozenset({"MT19937"}),
    "numpy.random._pcg64": frozenset({"PCG64", "PCG64DXSM"}),
    "numpy.random._philox": frozenset({"Philox"}),
    "numpy.random._sfc64": frozenset({"SFC64"}),
    "numpy.random.mtrand": frozenset({"RandomState"}),
    "numpy.random._generator": frozenset({"Generator"}),
    "numpy.random.bit_generator": frozenset({"SeedSequence", "__pyx_unpickle_SeedSequence"}),
    "torch.torch_version": frozenset({"TorchVersion"}),
    "_codecs": frozenset({"encode"}),
    "copyreg": frozenset({"_reconstructor"}),
    "builtins": frozenset({"set", "frozenset", "slice", "complex", "bytearray", "bytes", "list",
                           "dict", "tuple", "int", "float", "str", "bool", "range", "object"}),
    "transformers.training_args": frozenset({"TrainingArguments", "OptimizerNames",
                                             "ParallelMode"}),
    "transformers.trainer_pt_utils": frozenset({"AcceleratorConfig"}),
    "transformers.training_args_seq2seq": frozenset({"Seq2SeqTrainingArguments"}),
    "transformers.trainer_utils": frozenset({
        "IntervalStrategy", "SchedulerType", "HubStrategy", "SaveStrategy", "FSDPOption",
        "EvaluationStrategy",
    }),
    "transformers.debug_utils": frozenset({"DebugOption"}),
    "accelerate.state": frozenset({"PartialState", "DistributedType"}),
    # TRL trainers save their config dataclass as training_args.bin
    "trl.trainer.sft_config": frozenset({"SFTConfig"}),
    "trl.trainer.dpo_config": frozenset({"DPOConfig", "FDivergenceType"}),
    "trl.trainer.grpo_config": frozenset({"GRPOConfig"}),
    "trl.trainer.orpo_config": frozenset({"ORPOConfig"}),
    "trl.trainer.kto_config": frozenset({"KTOConfig"}),
    "trl.trainer.cpo_config": frozenset({"CPOConfig"}),
    "trl.trainer.reward_config": frozenset({"RewardConfig"}),
    "accelerate.utils.dataclasses": ALL,
    # joblib's array container: loading it reads array bytes (its dtype and subclass are
    # imports of their own, judged by themselves)
    "joblib.numpy_pickle": frozenset({"NumpyArrayWrapper"}),
}  # fmt: skip

# Safe although their package is dangerous as a whole: TorchScript's pickles (torch.jit.save's
# data.pkl, constants.pkl, *.debug_pkl) rebuild typed lists with these; each returns its
# argument unchanged (torch/jit/_pickle.py), so they are list builders, not code execution.
SAFE_IN_DANGEROUS: dict[str, frozenset[str]] = {
    "torch.jit._pickle": frozenset({
        "build_intlist", "build_tensorlist", "build_doublelist", "build_boollist",
        "build_tensor_from_id", "restore_type_tag",
    }),
}  # fmt: skip

# Attributes that lead from any object to the interpreter itself: its builtins and globals, the
# type graph (every loaded class via object.__subclasses__), code objects and frames. find_class
# walks dotted names attribute by attribute, so `numpy` + `size.__builtins__` is the builtins
# dict (then `.get` gives eval): a name that walks through one of these runs code, whatever
# module it starts from.
GADGET_ATTRS = frozenset({
    "__builtins__", "__globals__", "__import__", "__subclasses__",
    "__getattribute__", "__getattr__", "__setattr__", "__delattr__", "__class__", "__base__",
    "__bases__", "__mro__", "__dict__", "__code__", "__closure__", "__func__",
    "__self__", "__wrapped__", "__objclass__", "__loader__", "__spec__", "__reduce__",
    "__reduce_ex__", "__init_subclass__", "__class_getitem__", "__traceback__", "tb_frame",
    "f_globals", "f_locals", "f_builtins", "f_back", "gi_frame", "cr_frame", "ag_frame",
    "func_globals", "im_func", "im_self", "im_class",
})  # fmt: skip


class Verdict(enum.Enum):
    DANGEROUS = "dangerous"
    SAFE = "safe"
    UNVERIFIED = "unverified"


def canonical_module(module: str) -> str:
    """Undo aliases: `posix` is `os`, `__builtin__` is `builtins`, `numpy._core` is `numpy.core`."""
    parts = module.split(".")
    for cut in range(len(parts), 0, -1):
        head = ".".join(parts[:cut])
        if head in ALIASES:
            return ".".join([ALIASES[head], *parts[cut:]])
    return module


def _dangerous_in(module: str, attrs: list[str]) -> bool:
    """Is `module` (or a parent) dangerous as a whole, or is the path below it a dangerous name?

    `torch._C` + `_nn` is judged like `torch` + `_C._nn`: a submodule is an attribute too.
    """
    parts = canonical_module(module).split(".")
    for cut in range(1, len(parts) + 1):
        entry = DANGEROUS.get(".".join(parts[:cut]))
        if entry == ALL:
            return True
        rest = parts[cut:] + attrs
        if entry is not None and rest and (rest[0] in entry or ".".join(rest) in entry):
            return True
    return False


def py2_names(module: str, name: str) -> list[tuple[str, str]]:
    """The names Python 3's unpickler really imports for protocol 0-2 pickles (fix_imports)."""
    found = [(module, name)]
    if (module, name) in _compat_pickle.NAME_MAPPING:
        found.append(_compat_pickle.NAME_MAPPING[(module, name)])
    elif module in _compat_pickle.IMPORT_MAPPING:
        found.append((_compat_pickle.IMPORT_MAPPING[module], name))
    return found


def gadget_attr(module: str, name: str) -> str | None:
    """The first attribute of `module` + `name` that escapes to builtins, globals or types.

    The first module component is a module to import, not an attribute: `__builtin__` there is
    Python 2's name of builtins (`__builtin__.set` is what old pickles of sets say).
    """
    for token in [*module.split(".")[1:], *name.split(".")]:
        if token in GADGET_ATTRS:
            return token
    return None


def classify(module: str, name: str) -> tuple[Verdict, str]:
    """Judge `module` + `name` as pickle's find_class resolves it: dotted names walk attributes,
    Python 2 names are mapped like the unpickler maps them (`__builtin__.reduce` is
    `functools.reduce`). Dangerous if any reading is; safe only if every reading is.

    Returns the verdict and the dotted target it was judged as (e.g. `pathlib` + `os.system`
    is judged as `os.system`, because `pathlib.os` is the os module).
    """
    if gadget_attr(module, name):
        return Verdict.DANGEROUS, f"{canonical_module(module)}.{name}"
    verdicts = [_classify_one(m, n) for m, n in reversed(py2_names(module, name))]
    for verdict in verdicts:
        if verdict[0] is Verdict.DANGEROUS:
            return verdict
    for verdict in verdicts:
        if verdict[0] is Verdict.UNVERIFIED:
            return verdict
    return verdicts[0]


def _classify_one(module: str, name: str) -> tuple[Verdict, str]:
    mod_tokens = [t for t in module.split(".") if t]
    name_tokens = name.split(".") if name else [""]
    tokens = mod_tokens + name_tokens
    m = len(mod_tokens)
    if not mod_tokens:
        return Verdict.UNVERIFIED, f"{module}.{name}"
    if name in SAFE_IN_DANGEROUS.get(canonical_module(module), ()):
        return Verdict.SAFE, f"{canonical_module(module)}.{name}"
    # Start at the real module, or at any attribute reached from it (it may be a module).
    for start in [0, *range(m, len(tokens) - 1)]:
        first_end = m if start == 0 else start + 1
        for end in range(first_end, len(tokens)):
            if _dangerous_in(".".join(tokens[start:end]), tokens[end:]):
                target = canonical_module(".".join(tokens[start:end]))
                return Verdict.DANGEROUS, ".".join([target, *tokens[end:]])
        # `import os` as a module object itself (e.g. name "os" of pathlib) is dangerous too
        if start > 0 and _dangerous_in(".".join(tokens[start:]), []):
            return Verdict.DANGEROUS, canonical_module(".".join(tokens[start:]))
    target = f"{canonical_module(module)}.{name}"
    entry = SAFE.get(canonical_module(module))
    if entry is not None and "." not in name and (entry == ALL or name in entry):
        return Verdict.SAFE, target
    return Verdict.UNVERIFIED, target
