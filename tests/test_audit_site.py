"""The issue's scenario end to end: a fleet with a full fine-tune, a LoRA adapter, a quantized
variant and a model carrying a malicious pickle, built by the real command into a real site."""

from __future__ import annotations

import json
import os
import pickle
import re
import shutil
from pathlib import Path

from modelfiles import git, run_modelcards

PWNED = Path("/tmp/modelcards-audit-site-pwned")


class RunsCode:
    """Unpickling this runs a shell command: modelcards must never do it."""

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {PWNED}",))


def test_an_auditor_finds_changes_risks_and_lineage_in_two_clicks(repo: Path) -> None:
    quantized = repo / "models/chat-q4"
    shutil.copytree(repo / "models/chat-tuned", quantized)
    config = json.loads((quantized / "config.json").read_text())
    config["quantization_config"] = {"quant_method": "bitsandbytes", "load_in_4bit": True}
    (quantized / "config.json").write_text(json.dumps(config, indent=2))
    evil = repo / "models/chat-evil"
    shutil.copytree(repo / "models/chat-tuned", evil)
    (evil / "pytorch_model.bin").write_bytes(pickle.dumps(RunsCode(), protocol=2))
    settings = repo / "modelcards.yml"
    settings.write_text(
        settings.read_text()
        + "  - path: models/chat-q4\n    base: {path: base-model, id: acme/tiny-llama-base}\n"
        + "  - path: models/chat-evil\n    base: {path: base-model, id: acme/tiny-llama-base}\n"
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "feat: a 4-bit variant and a checkpoint from elsewhere")

    result = run_modelcards("build", "-C", str(repo), cwd=repo)
    assert result.returncode == 0, result.stderr
    assert not PWNED.exists()
    site = repo / "site"
    home = (site / "index.html").read_text()
    for name in ("chat-tuned", "chat-lora", "chat-q4", "chat-evil"):
        assert f'href="models/{name}/index.html"' in home, name  # click 1: the model
    graph = home.split('<svg class="mc-lineage"')[1].split("</svg>")[0]
    assert graph.count('<path class="mc-edge"') == 4  # one family: the shared base
    for relation in ("finetune", "adapter", "quantized"):
        assert f">{relation}</text>" in graph
    for name in ("chat-tuned", "chat-lora", "chat-q4", "chat-evil"):
        assert f'<a href="models/{name}/index.html">' in graph, name
    evil_row = next(
        row for row in home.split("<tr>") if 'href="models/chat-evil/index.html"' in row
    )
    assert "mc-critical" in evil_row and 'href="models/chat-evil/report.html#risks"' in evil_row
    card = (site / "models/chat-evil/index.html").read_text()
    for section in ("changes", "risks"):  # click 2: the section of the audit report
        assert f'href="report.html#{section}"' in card, section
    report = (site / "models/chat-evil/report.html").read_text()
    risks = report.split('<h2 id="risks">')[1].split("<h2 ")[0]
    assert re.search(r"mc-critical\">critical</span>.*MC101", risks, re.S)
    assert "pytorch_model.bin" in risks
    changes = report.split('<h2 id="changes">')[1].split("<h2 ")[0]
    assert "vocabulary size 320 → 322" in changes
    q4 = (site / "models/chat-q4/report.html").read_text()
    assert "relation: <strong>quantized</strong>" in q4
