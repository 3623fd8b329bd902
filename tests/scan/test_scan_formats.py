"""Format scanners on real files: safetensors, numpy, torch zips, Keras, remote code, licences."""

from __future__ import annotations

import io
import json
import os
import pickle
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from corpus import Reduce, benign_files, checkpoint_pkl, torch_zip, write
from safetensors.numpy import save_file

from modelcards.assess.findings import ScanReport, Severity
from modelcards.assess.scan import scan_path
from modelcards.assess.scan.licence import licence_findings

Scan = Callable[[str, bytes], ScanReport]


def rule_ids(report: ScanReport) -> set[str]:
    return {f.rule for f in report.findings}


def safetensors_bytes(tmp_path: Path) -> bytes:
    path = tmp_path / "src.safetensors"
    save_file(
        {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.zeros(4, dtype=np.int64)},
        str(path),
        metadata={"format": "np"},
    )
    return path.read_bytes()


def test_valid_safetensors_is_clean(scan_bytes_as: Scan, tmp_path: Path) -> None:
    report = scan_bytes_as("model.safetensors", safetensors_bytes(tmp_path))
    assert report.findings == () and report.partial == () and report.files_scanned == 1


def test_trailing_byte_in_safetensors(scan_bytes_as: Scan, tmp_path: Path) -> None:
    report = scan_bytes_as("model.safetensors", safetensors_bytes(tmp_path) + b"\x00")
    assert rule_ids(report) == {"MC207"}


def test_benign_corpus_gives_nothing_above_medium(tmp_path: Path) -> None:
    write(benign_files(), tmp_path / "m")
    report = scan_path(tmp_path / "m")
    assert report.files_scanned == len(benign_files())
    assert report.partial == ()
    assert not report.at_least(Severity.HIGH), report.findings
    # the pickled files are still reported as pickles (low), never silently passed
    assert {f.file for f in report.findings if f.rule == "MC105"} >= {
        "training_args.bin",
        "pytorch_model.bin",
        "legacy_model.bin",
    }


def test_benign_torch_checkpoint_has_only_the_pickle_notice(scan_bytes_as: Scan) -> None:
    report = scan_bytes_as("pytorch_model.bin", torch_zip(checkpoint_pkl()))
    assert rule_ids(report) == {"MC105"}
    assert report.findings[0].evidence["member"] == "archive/data.pkl"


def test_npy_object_array_is_a_pickle(scan_bytes_as: Scan) -> None:
    buf = io.BytesIO()
    np.save(buf, np.array([Reduce(os.system, "id"), 1], dtype=object), allow_pickle=True)
    report = scan_bytes_as("x.npy", buf.getvalue())
    assert {"MC114", "MC101"} <= rule_ids(report)


def test_npz_object_array_member(scan_bytes_as: Scan) -> None:
    buf = io.BytesIO()
    np.savez(buf, ok=np.ones(2), bad=np.array([Reduce(eval, "1")], dtype=object))
    report = scan_bytes_as("x.npz", buf.getvalue())
    crit = [f for f in report.findings if f.rule == "MC101"]
    assert crit and crit[0].evidence["member"] == "bad.npy"


def test_numeric_npz_is_clean(scan_bytes_as: Scan) -> None:
    buf = io.BytesIO()
    np.savez_compressed(buf, a=np.ones((10, 10)))
    assert scan_bytes_as("x.npz", buf.getvalue()).findings == ()


def keras_zip(config: object) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("config.json", json.dumps(config))
        zf.writestr("metadata.json", json.dumps({"keras_version": "3.3.0"}))
        zf.writestr("model.weights.h5", b"\x89HDF\r\n\x1a\n" + bytes(64))
    return buf.getvalue()


def test_keras_lambda_layer(scan_bytes_as: Scan) -> None:
    config = {
        "class_name": "Sequential",
        "config": {
            "layers": [
                {"class_name": "Dense", "config": {"name": "d"}},
                {
                    "class_name": "Lambda",
                    "config": {
                        "name": "evil",
                        "function": {
                            "class_name": "__lambda__",
                            "config": {"code": "4wEAAAAAAAAA"},
                        },
                    },
                },
            ]
        },
    }
    report = scan_bytes_as("model.keras", keras_zip(config))
    assert "MC401" in rule_ids(report)


def test_keras_function_reference_to_os(scan_bytes_as: Scan) -> None:
    config = {
        "class_name": "Functional",
        "config": {
            "layers": [
                {
                    "class_name": "Activation",
                    "config": {
                        "activation": {
                            "module": "os",
                            "class_name": "function",
                            "config": "system",
                            "registered_name": "system",
                        }
                    },
                }
            ]
        },
    }
    report = scan_bytes_as("model.keras", keras_zip(config))
    assert "MC403" in rule_ids(report)


def test_plain_keras_model_is_clean(scan_bytes_as: Scan) -> None:
    config = {
        "class_name": "Sequential",
        "config": {
            "layers": [{"class_name": "Dense", "config": {"name": "d", "activation": "relu"}}]
        },
    }
    assert scan_bytes_as("model.keras", keras_zip(config)).findings == ()


def test_h5_with_lambda_in_model_config(scan_bytes_as: Scan) -> None:
    config = json.dumps(
        {
            "class_name": "Model",
            "config": {
                "layers": [
                    {
                        "class_name": "Lambda",
                        "config": {"name": "l", "function": ["4wEAAA", None, None]},
                    }
                ]
            },
        }
    )
    raw = b"\x89HDF\r\n\x1a\n" + bytes(500) + b"model_config\x00\x00" + config.encode() + bytes(99)
    report = scan_bytes_as("model.h5", raw)
    assert "MC401" in rule_ids(report)


def test_auto_map_local_and_cross_repo(scan_bytes_as: Scan, tmp_path: Path) -> None:
    scan_bytes_as(
        "tokenizer_config.json",
        json.dumps({"auto_map": {"AutoTokenizer": ["tok.MyTok", None]}}).encode(),
    )
    report = scan_bytes_as(
        "config.json",
        json.dumps(
            {"auto_map": {"AutoModelForCausalLM": "someone/other-repo--modeling.Model"}}
        ).encode(),
    )
    by_rule = {f.rule: f for f in report.findings}
    assert by_rule["MC302"].severity is Severity.CRITICAL
    assert by_rule["MC302"].evidence["repository"] == "someone/other-repo"
    assert by_rule["MC301"].file == "tokenizer_config.json"


def test_python_file_with_risky_calls(scan_bytes_as: Scan) -> None:
    source = b"import subprocess\nfrom socket import socket\nexec(open('x').read())\n"
    report = scan_bytes_as("modeling_x.py", source)
    risky = next(f for f in report.findings if f.rule == "MC304")
    assert risky.evidence["imports"] == ["socket", "subprocess"]
    assert risky.evidence["calls"] == ["exec", "open"]


def test_harmless_python_file_is_still_reported(scan_bytes_as: Scan) -> None:
    report = scan_bytes_as("configuration_x.py", b"class Config:\n    pass\n")
    assert rule_ids(report) == {"MC303"}


def test_python_syntax_error(scan_bytes_as: Scan) -> None:
    assert "MC305" in rule_ids(scan_bytes_as("broken.py", b"def (:\n"))


@pytest.mark.parametrize(
    ("base", "tuned", "expected"),
    [
        ("llama3.1", "apache-2.0", {"MC503", "MC504"}),
        ("llama2", "mit", {"MC503", "MC504"}),
        ("cc-by-nc-4.0", "cc-by-4.0", {"MC503", "MC504"}),
        ("gemma", "gemma", {"MC504"}),
        ("other", "apache-2.0", {"MC503", "MC504"}),
        ("openrail++", "openrail++", {"MC504"}),
        ("apache-2.0", "mit", {"MC502"}),
        ("apache-2.0", "apache-2.0", set()),
        ("apache-2.0", None, {"MC501"}),
        ("llama3", None, {"MC501", "MC504"}),
        (None, "mit", {"MC505"}),
        ("llama3", "other", {"MC502", "MC504"}),
    ],
)
def test_licence_rules(base: str | None, tuned: str | None, expected: set[str]) -> None:
    assert {f.rule for f in licence_findings(base, tuned, {})} == expected


def test_licence_obligations_name_llama_attribution() -> None:
    findings = licence_findings(
        "Llama3.1", "apache-2.0", {"license_name": "llama3.1", "extra_gated_prompt": "agree"}
    )
    obligation = next(f for f in findings if f.rule == "MC504")
    assert "Built with Llama" in obligation.message
    assert obligation.evidence["base_gated"] is True
    worst = next(f for f in findings if f.rule == "MC503")
    assert worst.severity is Severity.HIGH and "apache-2.0" in worst.message


def test_keras_custom_layer_from_another_module(scan_bytes_as: Scan) -> None:
    config = {
        "module": "keras",
        "class_name": "Sequential",
        "config": {
            "layers": [
                {
                    "module": "keras.layers",
                    "class_name": "Dense",
                    "config": {},
                    "registered_name": None,
                },
                {
                    "module": "my_pkg.layers",
                    "class_name": "Fancy",
                    "config": {},
                    "registered_name": "my_pkg>Fancy",
                },
            ]
        },
    }
    report = scan_bytes_as("model.keras", keras_zip(config))
    custom = [f for f in report.findings if f.rule == "MC402"]
    assert [(f.evidence["module"], f.evidence["name"]) for f in custom] == [
        ("my_pkg.layers", "Fancy")
    ]


@pytest.mark.parametrize("protocol", [4, 5])
def test_big_array_pickle_beyond_the_parse_budget_is_complete(
    tmp_path: Path, protocol: int
) -> None:
    from modelcards.assess.scan.limits import ScanLimits

    arrays = {"w": np.ones(1024 * 1024, dtype=np.float32)}  # 4 MiB payload
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "state.pkl").write_bytes(pickle.dumps(arrays, protocol=protocol))
    report = scan_path(tmp_path / "m", limits=ScanLimits(max_pickle_bytes=1024 * 1024))
    assert report.partial == () and rule_ids(report) == {"MC105"}


def test_many_tensor_members_are_sniffed_not_read(tmp_path: Path) -> None:
    """A checkpoint with many tensors must not spend the decompression budget on sniffing."""
    from modelcards.assess.scan.limits import ScanLimits

    extra = {f"data/{i}": bytes(1_200_000) for i in range(1, 21)}
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "pytorch_model.bin").write_bytes(torch_zip(checkpoint_pkl(), extra=extra))
    report = scan_path(tmp_path / "m", limits=ScanLimits(max_total_decompressed=8_000_000))
    assert rule_ids(report) == {"MC105"} and report.partial == ()


def test_other_licence_uses_its_license_name_family() -> None:
    findings = licence_findings(
        "other", "mit", {"license_name": "llama3"}, file="models/tuned/README.md"
    )
    obligation = next(f for f in findings if f.rule == "MC504")
    assert "Llama" in obligation.message and obligation.file == "models/tuned/README.md"
    assert "MC503" in {f.rule for f in findings}


def test_numpy_random_state_pickle_is_allowlisted(scan_bytes_as: Scan) -> None:
    state = {"rng": np.random.RandomState(0), "gen": np.random.default_rng(0)}
    report = scan_bytes_as("rng_state.pkl", pickle.dumps(state, protocol=4))
    assert rule_ids(report) == {"MC105"}, report.findings
