"""`modelcards export --format cyclonedx`: a CycloneDX 1.6 ML-BOM the official schema accepts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator


def export(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "modelcards", "export", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=120,
    )


def validate(text: str) -> None:
    errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text, all_errors=True)
    assert errors is None, [str(e) for e in errors or []]


def test_validator_rejects_a_broken_bom() -> None:
    """The check below means something: the validator does reject what the schema forbids."""
    bad = {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
           "components": [{"type": "machine-learning-model"}]}  # fmt: skip
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(bad)) is not None


def test_fine_tune_bom_is_valid_and_complete(repo: Path) -> None:
    result = export(repo, "chat-tuned", "--format", "cyclonedx", "--site-url", "https://x.test")
    assert result.returncode == 0, result.stderr
    validate(result.stdout)
    bom = json.loads(result.stdout)
    assert bom["specVersion"] == "1.6" and bom["serialNumber"].startswith("urn:uuid:")
    (model,) = bom["components"]
    assert model["type"] == "machine-learning-model" and model["name"] == "chat-tuned"
    assert model["version"] == "chat-tuned/v1.0"
    files = {c["name"]: c for c in model["components"]}
    weights = files["model.safetensors"]["hashes"][0]
    assert weights["alg"] == "SHA-256" and len(weights["content"]) == 64
    assert model["hashes"] == [weights]
    assert "tokenizer_config.json" in files and "README.md" not in files
    params = model["modelCard"]["modelParameters"]
    assert params["task"] == "text-generation"
    assert params["architectureFamily"] == "llama"
    assert params["modelArchitecture"] == "LlamaForCausalLM"
    assert params["datasets"] == [{"type": "dataset", "name": "acme/support-chats"}]
    metrics = model["modelCard"]["quantitativeAnalysis"]["performanceMetrics"]
    assert {"type": "eval_loss", "value": "1.3404"} in metrics
    use_cases = model["modelCard"]["considerations"]["useCases"]
    assert any("drafts replies to customer chats" in u for u in use_cases)
    (base,) = model["pedigree"]["ancestors"]
    assert base["name"] == "acme/tiny-llama-base"
    assert base["purl"] == "pkg:huggingface/acme/tiny-llama-base"
    base_weights = {c["name"]: c for c in base["components"]}["model.safetensors"]["hashes"]
    assert base["hashes"] == base_weights and base_weights != model["hashes"]
    urls = {r["url"] for r in model["externalReferences"]}
    assert {"models/chat-tuned/README.md", "https://x.test/models/chat-tuned/"} <= urls


def test_bom_is_deterministic_and_risks_become_considerations(repo: Path) -> None:
    first = export(repo, "models/chat-lora")
    second = export(repo, "chat-lora")
    assert first.returncode == 0 and first.stdout == second.stdout
    validate(first.stdout)

    from modelcards.export.cyclonedx import build_bom

    context = {
        "model": {"name": "m", "path": "models/m", "relation": None},
        "risks": [
            {"rule": "MC101", "severity": "high", "file": "config.json",
             "message": "remote code: auto_map points at modeling_x.py", "evidence": {},
             "recommendation": "review the code"},
            {"rule": "MC301", "severity": "medium", "file": "tokenizer_config.json",
             "message": "chat template changed", "evidence": {},
             "recommendation": "re-run safety evaluation", "waived": {"reason": "r", "owner": "o"}},
        ],
    }  # fmt: skip
    bom = build_bom(context)
    validate(json.dumps(bom))
    considerations = bom["components"][0]["modelCard"]["considerations"]
    assert considerations["technicalLimitations"] == [
        "MC101 [high]: remote code: auto_map points at modeling_x.py"
    ]
    assert considerations["ethicalConsiderations"] == [
        {"name": "MC301 [medium] (waived): chat template changed",
         "mitigationStrategy": "re-run safety evaluation"}
    ]  # fmt: skip


def test_unknown_model_is_one_line_error(repo: Path) -> None:
    result = export(repo, "nope")
    assert result.returncode == 2
    assert result.stderr.startswith("modelcards: error: ") and "no model 'nope'" in result.stderr
    assert "Traceback" not in result.stderr
