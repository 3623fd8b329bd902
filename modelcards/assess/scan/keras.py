"""Keras models whose config carries Python code: Lambda layers and function references.

`.keras` files are zips with a `config.json`; `.h5` files keep the config as a JSON attribute
(see `keras_h5`). Every node of the config is walked (nested models, layer configs,
`build_config`, `compile_config`, shared objects), because Keras deserialises all of them.
References inside Keras itself are judged too: the published safe_mode bypasses
(CVE-2025-1550, CVE-2025-8747, CVE-2025-9906, CVE-2026-1462) call Keras's own `load_model`,
`get_file`, safe-mode switches or `TFSMLayer`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from modelcards.assess.findings import EvidenceValue, Finding
from modelcards.assess.rules import finding
from modelcards.assess.scan.policy import Verdict, classify

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
MAX_WALK = 200_000  # config nodes visited; past it the config is reported as partly checked

_RAW_MARKERS = (
    (re.compile(rb'"class_name"\s*:\s*"Lambda"'), "Lambda layer"),
    (re.compile(rb'"class_name"\s*:\s*"__lambda__"'), "serialized lambda"),
    (re.compile(rb'"__lambda__"'), "serialized lambda"),
    (re.compile(rb'"class_name"\s*:\s*"function"'), "function reference"),
    (re.compile(rb'"class_name"\s*:\s*"TFSMLayer"'), "TFSMLayer"),
)

# Packages Keras >= 3.9 still imports from a config (keras_hub/cv/nlp), and TensorFlow's.
KERAS_ROOTS = frozenset(
    {"keras", "keras_hub", "keras_cv", "keras_nlp", "tf_keras", "tensorflow", "tf"}
)
# Keras/TF functions that load another model, fetch or write files, or switch safe mode off.
_RISKY_NAMES = frozenset({
    "load_model", "save_model", "load_weights", "save_weights", "get_file", "func_load",
    "set_global_attribute", "enable_unsafe_deserialization", "deserialize_keras_object",
    "model_from_json", "model_from_config", "model_from_yaml", "plot_model", "model_to_dot",
    "load_img", "save_img", "image_dataset_from_directory", "text_dataset_from_directory",
    "audio_dataset_from_directory", "register_keras_serializable", "read_file", "write_file",
    "py_function", "numpy_function", "py_func", "import_module", "validate_file",
})  # fmt: skip
_RISKY_PREFIXES = ("load", "save", "plot_", "draw_", "export", "download", "read_", "write_")
_RISKY_MODULES = (
    "keras.saving",
    "keras.src.saving",
    "keras.src.legacy.saving",
    "keras.config",
    "keras.src.backend.config",
    "keras.visualization",
    "keras.src.visualization",
    "keras.export",
    "keras.src.export",
    "keras.src.utils.file_utils",
    "keras.src.utils.python_utils",
    "keras.datasets",
    "keras.src.datasets",
    "tensorflow.io",
    "tensorflow.saved_model",
    "tensorflow.python.platform",
    "tensorflow.python.lib.io",
    "tensorflow.python.ops.gen_io_ops",
    "tensorflow.compat",
    "tf.io",
    "tf.saved_model",
    "tf.compat",
)
# Keras modules whose functions only compute on tensors (what real Lambda layers and losses use).
_PURE_MODULES = tuple(
    f"{root}{part}"
    for root in ("keras.", "keras.src.", "tf_keras.", "tensorflow.keras.")
    for part in (
        "ops",
        "activations",
        "losses",
        "metrics",
        "initializers",
        "regularizers",
        "constraints",
        "random",
        "backend",
        "optimizers",
        "layers",
    )
) + ("tensorflow.math", "tensorflow.nn", "tensorflow.python.ops.math_ops", "tf.math", "tf.nn")
# Layers that open a file, URL or SavedModel named in their config when the model is loaded.
_FILE_LAYERS = {
    "TFSMLayer": "filepath", "StringLookup": "vocabulary", "IntegerLookup": "vocabulary",
    "TextVectorization": "vocabulary",
}  # fmt: skip
_FUNCTION_CLASSES = frozenset({"function", "builtin_function_or_method", "method"})


def _under(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


_TRUNCATED: dict[str, Any] = {}  # yielded by _walk when MAX_WALK ends it


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    """Every dict in the config, then `_TRUNCATED` if the walk limit ended it early."""
    stack = [node]
    seen = 0
    while stack:
        if seen >= MAX_WALK:
            yield _TRUNCATED
            return
        item = stack.pop()
        seen += 1
        if isinstance(item, dict):
            yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _references(node: dict[str, Any]) -> Iterator[tuple[str, str, bool]]:
    """(module, name, is_function) that deserialising this node imports."""
    module = node.get("module")
    class_name = node.get("class_name")
    conf = node.get("config")
    if isinstance(module, str) and module:
        if class_name in _FUNCTION_CLASSES or isinstance(conf, str):
            name = conf if isinstance(conf, str) else node.get("registered_name")
            if isinstance(name, str):
                yield module, name, True
        elif isinstance(class_name, str):
            yield module, class_name, False
        # legacy (tf.keras 2, .h5) Lambda: {"function": "system", "function_type": "function",
        # "module": "os"}: the function is looked up in that module's globals
        function = node.get("function")
        if node.get("function_type") in ("function", "raw") and isinstance(function, str):
            yield module, function, True
    fn_module = node.get("fn_module")  # older Keras 3 function serialisation
    if isinstance(fn_module, str) and isinstance(conf, str):
        yield fn_module, conf, True


def keras_verdict(module: str, name: str, is_function: bool) -> str | None:
    """The rule for a reference inside Keras/TF: MC405 for what loads, fetches, writes or
    switches safe mode off, MC407 for a function outside the tensor-only modules, else None."""
    base = name.rsplit(".", 1)[-1]
    if (
        base in _RISKY_NAMES
        or base.lower().startswith(_RISKY_PREFIXES)
        or _under(module, _RISKY_MODULES)
        or "." in name  # a dotted name walks attributes from the module: never what Keras writes
    ):
        return "MC405"
    if not is_function:
        return None  # layers, initializers, losses...: classes Keras itself registers
    return None if _under(module, _PURE_MODULES) else "MC407"


def _file_layer(node: dict[str, Any]) -> tuple[str, str] | None:
    class_name = node.get("class_name")
    conf = node.get("config")
    if not isinstance(class_name, str) or class_name not in _FILE_LAYERS:
        return None
    value = conf.get(_FILE_LAYERS[class_name]) if isinstance(conf, dict) else None
    if class_name == "TFSMLayer":  # always loads a SavedModel, whatever the path looks like
        return class_name, value if isinstance(value, str) else ""
    return (class_name, value) if isinstance(value, str) and value else None


def config_findings(config: Any, file: str, *, member: str | None = None) -> list[Finding]:
    """Findings from a parsed Keras model config (any nesting of layers and functions)."""
    where = {"member": member} if member else {}
    findings: list[Finding] = []
    lambdas: list[str] = []
    functions: set[tuple[str, str, bool]] = set()
    files: set[tuple[str, str]] = set()
    truncated = False
    for node in _walk(config):
        if node is _TRUNCATED:
            truncated = True
            break
        class_name = node.get("class_name")
        conf = node.get("config")
        if class_name == "Lambda":
            name = conf.get("name") if isinstance(conf, dict) else None
            lambdas.append(str(name or "?"))
        elif class_name == "__lambda__" or "__lambda__" in node:
            lambdas.append("__lambda__")
        elif isinstance(conf, dict) and conf.get("function_type") == "lambda":
            lambdas.append(str(conf.get("name") or "?"))  # tf.keras 2 bytecode in an .h5
        functions.update(_references(node))
        opener = _file_layer(node)
        if opener:
            files.add(opener)
    if lambdas:
        findings.append(
            finding(
                "MC401",
                file,
                f"{len(lambdas)} Lambda layer(s) or serialized "
                f"function(s): {', '.join(sorted(set(lambdas))[:5])}",
                {**where, "layers": sorted(set(lambdas))[:50]},
            )
        )
    for module, name, is_function in sorted(functions):
        evidence: dict[str, EvidenceValue] = {**where, "module": module, "name": name}
        if module.split(".")[0] in KERAS_ROOTS:
            rule = keras_verdict(module, name, is_function)
            if rule:
                kind = "function" if is_function else "object"
                findings.append(
                    finding(rule, file, f"config calls {kind} {module}.{name}", evidence)
                )
            continue
        verdict, target = classify(module, name)
        rule = "MC403" if verdict is Verdict.DANGEROUS else "MC402"
        findings.append(
            finding(
                rule, file, f"config imports {module}.{name}", {**evidence, "resolves_to": target}
            )
        )
    for layer, opened in sorted(files):
        findings.append(
            finding(
                "MC406",
                file,
                f"{layer} layer opens {opened or 'an external SavedModel'!r} when the model loads",
                {**where, "layer": layer, "path": opened},
            )
        )
    if truncated:
        findings.append(
            finding(
                "MC404",
                file,
                f"Keras config has more than {MAX_WALK:,} nodes; the rest was not checked",
                {**where, "nodes": MAX_WALK},
            )
        )
    return findings


def raw_marker_findings(chunk_hits: set[str], file: str) -> list[Finding]:
    if not chunk_hits:
        return []
    return [
        finding(
            "MC401",
            file,
            f"raw bytes contain a Keras {', '.join(sorted(chunk_hits))}",
            {"markers": sorted(chunk_hits)},
        )
    ]


def search_markers(data: bytes) -> set[str]:
    return {label for pattern, label in _RAW_MARKERS if pattern.search(data)}
