"""Keras configs that call functions anywhere in the layer graph, in real `.keras` and `.h5`
files (the safe_mode bypasses CVE-2025-1550, -8747, -9905, -9906 and TFSMLayer)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from corpus_2026_formats import edit_keras, fn_ref, keras_benign, keras_malicious, keras_models

from modelcards.assess.findings import ScanReport, Severity
from modelcards.assess.scan import keras as keras_scan
from modelcards.assess.scan.keras import config_findings, keras_verdict

pytest.importorskip("keras")
h5py = pytest.importorskip("h5py")

Scan = Callable[[str, bytes], ScanReport]

EXPECTED = {
    "keras_nested_load_model.keras": ("MC405", "keras.models", "load_model"),
    "keras_get_file_download.keras": ("MC405", "keras.utils", "get_file"),
    "keras_safe_mode_switch.keras": (
        "MC405",
        "keras.src.saving.serialization_lib",
        "set_global_attribute",
    ),
    "keras_nested_os_system.keras": ("MC403", "os", "system"),
    "keras_compile_config_popen.keras": ("MC403", "subprocess", "Popen"),
    "keras_build_config_exec.keras": ("MC403", "builtins", "exec"),
    "keras_shared_object_os_system.keras": ("MC403", "os", "system"),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_function_reference_anywhere_is_critical(scan_bytes_as: Scan, name: str) -> None:
    rule, module, function = EXPECTED[name]
    report = scan_bytes_as(name, keras_malicious()[name])
    hits = [f for f in report.findings if f.rule == rule]
    assert [(f.evidence["module"], f.evidence["name"]) for f in hits] == [(module, function)]
    assert hits[0].severity is Severity.CRITICAL and hits[0].evidence["member"] == "config.json"


def test_tfsmlayer_is_high(scan_bytes_as: Scan) -> None:
    report = scan_bytes_as("m.keras", keras_malicious()["keras_tfsmlayer.keras"])
    (hit,) = [f for f in report.findings if f.rule == "MC406"]
    assert hit.evidence["path"] == "/tmp/attacker_savedmodel"


@pytest.mark.parametrize("suffix", ["h5", "keras"])
def test_lambda_bytecode_saved_by_keras(scan_bytes_as: Scan, suffix: str) -> None:
    report = scan_bytes_as(f"m.{suffix}", keras_malicious()[f"keras_lambda_bytecode.{suffix}"])
    (hit,) = report.findings
    assert hit.rule == "MC401" and "__lambda__" in hit.evidence["layers"]


@pytest.mark.parametrize("name", sorted(keras_benign()))
def test_real_keras_models_are_clean(scan_bytes_as: Scan, name: str) -> None:
    report = scan_bytes_as(name, keras_benign()[name])
    assert report.findings == () and report.partial == ()


def test_vocabulary_path_reads_a_file(scan_bytes_as: Scan) -> None:
    def add_lookup(config: dict[str, Any]) -> None:
        config["config"]["layers"].append(
            {
                "module": "keras.layers",
                "class_name": "StringLookup",
                "config": {"name": "lookup", "vocabulary": "/etc/passwd"},
            }
        )

    data = edit_keras(keras_models()["sequential.keras"], add_lookup)
    report = scan_bytes_as("m.keras", data)
    assert [(f.rule, f.evidence["path"]) for f in report.findings] == [("MC406", "/etc/passwd")]


def _h5_with_attrs(tmp_path: Path, **attrs: object) -> bytes:
    path = tmp_path / "made.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("weights", data=np.arange(64, dtype=np.float32))
        for key, value in attrs.items():
            f.attrs[key] = value
    return path.read_bytes()


LEGACY_OS = {
    "class_name": "Sequential",
    "config": {
        "layers": [
            {
                "class_name": "Lambda",
                "config": {"function": "system", "function_type": "function", "module": "os"},
            }
        ]
    },
}


def test_h5_legacy_lambda_function_by_name(scan_bytes_as: Scan, tmp_path: Path) -> None:
    data = _h5_with_attrs(tmp_path, model_config=json.dumps(LEGACY_OS))
    report = scan_bytes_as("m.h5", data)
    assert ("os", "system") in {
        (f.evidence["module"], f.evidence["name"]) for f in report.findings if f.rule == "MC403"
    }


def test_h5_training_config_loss_is_checked(scan_bytes_as: Scan, tmp_path: Path) -> None:
    model = json.loads(h5py.File(_tmp_h5(tmp_path), "r").attrs["model_config"])
    training = {"loss": fn_ref("subprocess", "check_output"), "metrics": ["mae"]}
    data = _h5_with_attrs(
        tmp_path, model_config=json.dumps(model), training_config=json.dumps(training)
    )
    report = scan_bytes_as("m.h5", data)
    assert [f.evidence["name"] for f in report.findings if f.rule == "MC403"] == ["check_output"]


def _tmp_h5(tmp_path: Path) -> Path:
    path = tmp_path / "real.h5"
    path.write_bytes(keras_models()["functional.h5"])
    return path


def test_h5_decoy_config_does_not_hide_the_real_one(scan_bytes_as: Scan, tmp_path: Path) -> None:
    """A clean config as a fixed-length string first, the hostile one on the global heap."""
    decoy = np.bytes_(json.dumps({"class_name": "Sequential", "config": {"layers": []}}))
    data = _h5_with_attrs(tmp_path, a_model_config=decoy, model_config=json.dumps(LEGACY_OS))
    assert "MC403" in {f.rule for f in scan_bytes_as("m.h5", data).findings}


def test_h5_fixed_length_config_with_odd_spacing(scan_bytes_as: Scan, tmp_path: Path) -> None:
    text = json.dumps(LEGACY_OS, indent=3).replace("{", "{ \n", 1)
    data = _h5_with_attrs(tmp_path, model_config=np.bytes_(text))
    assert "MC403" in {f.rule for f in scan_bytes_as("m.h5", data).findings}


@pytest.mark.parametrize(
    ("module", "name", "is_function", "rule"),
    [
        ("keras.src.ops.numpy", "abs", True, None),
        ("keras.activations", "gelu", True, None),
        ("keras.losses", "mean_squared_error", True, None),
        ("keras.src.models.functional", "Functional", False, None),
        ("keras.utils", "normalize", True, "MC407"),
        ("keras.saving", "load_model", True, "MC405"),
        ("keras.visualization", "plot_image_gallery", True, "MC405"),
        ("keras.config", "enable_unsafe_deserialization", True, "MC405"),
        ("keras.layers", "Dense", False, None),
        ("keras.ops", "os.system", True, "MC405"),
        ("tensorflow.io", "write_file", True, "MC405"),
        ("keras.src.backend.config", "set_floatx", True, "MC405"),
        ("keras_hub.src.utils.preset_utils", "get_file", True, "MC405"),
        ("keras_hub.src.models.gemma.gemma_backbone", "GemmaBackbone", False, None),
    ],
)
def test_keras_internal_verdicts(module: str, name: str, is_function: bool, rule: str) -> None:
    assert keras_verdict(module, name, is_function) == rule


def test_walk_limit_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keras_scan, "MAX_WALK", 50)
    config = {"class_name": "Sequential", "config": {"layers": [{"n": i} for i in range(100)]}}
    assert [f.rule for f in config_findings(config, "m.keras")] == ["MC404"]
    monkeypatch.setattr(keras_scan, "MAX_WALK", 500)
    assert config_findings(config, "m.keras") == []


def test_walk_limit_makes_a_real_keras_file_partial(
    scan_bytes_as: Scan, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(keras_scan, "MAX_WALK", 20)
    report = scan_bytes_as("m.keras", keras_models()["functional.keras"])
    assert {f.rule for f in report.findings} == {"MC404"} and report.partial == ("m.keras",)
