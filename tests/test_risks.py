"""Known risks end to end: scan, rules, the card's risk register, waivers, policy and the gate."""

from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file

from modelfiles import git, llama_config, make_model, run_modelcards

modelcards = run_modelcards


class RunsCode:
    """Pickles as a call of os.system on load; the test never loads it."""

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("touch /tmp/modelcards-pwned",))


def sbu(text: str) -> bytes:
    return b"\x8c" + bytes([len(text)]) + text.encode()


def training_args_bin() -> bytes:
    """What the HF Trainer writes: a TrainingArguments object and one of its enums."""
    enum = (
        sbu("transformers.trainer_utils")
        + sbu("IntervalStrategy")
        + b"\x93"
        + sbu("steps")
        + b"\x85R"
    )
    state = b"}(" + sbu("output_dir") + sbu("out") + sbu("eval_strategy") + enum + b"u"
    cls = sbu("transformers.training_args") + sbu("TrainingArguments") + b"\x93"
    return b"\x80\x04" + cls + b")\x81" + state + b"b."


def test_scan_finds_a_malicious_checkpoint_and_remote_code(tmp_path: Path) -> None:
    model = tmp_path / "evil"
    make_model(model, config={**llama_config(), "auto_map": {"AutoModel": "modeling_x.Model"}})
    (model / "pytorch_model.bin").write_bytes(pickle.dumps(RunsCode(), protocol=2))
    result = modelcards("scan", str(model), "--format", "json", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    rules = {(f["rule"], f["file"]) for f in data["findings"]}
    assert ("MC101", "pytorch_model.bin") in rules  # os.system on load: critical
    assert ("MC301", "config.json") in rules  # auto_map: remote code
    assert data["files_scanned"] == 2
    assert not Path("/tmp/modelcards-pwned").exists()
    sarif = json.loads(modelcards("scan", str(model), "--format", "sarif", cwd=tmp_path).stdout)
    assert sarif["version"] == "2.1.0"
    assert {r["ruleId"] for r in sarif["runs"][0]["results"]} >= {"MC101", "MC301"}


def test_scan_of_a_clean_fine_tune_reports_nothing_above_medium(tmp_path: Path) -> None:
    model = tmp_path / "clean"
    save_file({"w": np.zeros((4, 4), dtype=np.float32)}, str(tmp_path / "w.safetensors"))
    make_model(model, config=llama_config())
    shutil.move(tmp_path / "w.safetensors", model / "model.safetensors")
    (model / "training_args.bin").write_bytes(training_args_bin())
    result = modelcards("scan", str(model), "--format", "json", "--fail-on", "high", cwd=tmp_path)
    assert result.returncode == 0, result.stdout
    severities = {f["severity"] for f in json.loads(result.stdout)["findings"]}
    assert severities <= {"medium", "low", "info"}


def test_rules_lists_every_rule_once(tmp_path: Path) -> None:
    data = json.loads(modelcards("rules", "--format", "json", cwd=tmp_path).stdout)
    ids = [r["id"] for r in data]
    assert ids == sorted(set(ids))
    assert {"MC101", "MC201", "MC301", "MC401", "MC501", "MC601", "MC611", "MC701", "MC702"} <= set(
        ids
    )


def test_card_lists_risks_and_the_gate_follows_waivers(repo: Path) -> None:
    (repo / "models/chat-tuned/optimizer.pt").write_bytes(pickle.dumps(RunsCode(), protocol=2))
    assert modelcards("build", "-q", cwd=repo).returncode == 0
    card = (repo / "models/chat-tuned/README.md").read_text()
    risks = card.split("## Known risks")[1].split("<!-- modelcards:end risks -->")[0]
    assert "| critical | `MC101` | `optimizer.pt` |" in risks
    assert "| medium | `MC601` | `tokenizer_config.json` |" in risks  # the chat template is new
    assert (
        "## Governance checklist" in card
        and "| Vulnerability scan of every file | evidenced |" in card
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "feat: optimizer state")
    gate = modelcards("check", cwd=repo)
    assert gate.returncode == 1
    assert "chat-tuned: models/chat-tuned/optimizer.pt: MC101 (critical, not waived)" in gate.stdout

    config = repo / "modelcards.yml"
    waiver = ("waivers:\n  - {rule: MC101, model: chat-tuned, file: optimizer.pt, "
              "reason: 'optimizer state, never loaded in production', owner: ml-security, expires: %s}\n")  # fmt: skip
    config.write_text(config.read_text() + waiver % "2999-01-01")
    assert modelcards("check", cwd=repo).returncode == 1  # the card does not say so yet: stale
    assert modelcards("build", "-q", cwd=repo).returncode == 0
    card = (repo / "models/chat-tuned/README.md").read_text()
    assert (
        "waived by ml-security until 2999-01-01: optimizer state, never loaded in production"
        in card
    )
    assert modelcards("check", cwd=repo).returncode == 0

    # the day after the waiver expires, the gate fails again and says why
    expired = {"SOURCE_DATE_EPOCH": str(32503766400)}  # 3000-01-02
    result = modelcards("check", cwd=repo, env=expired)
    assert result.returncode == 1
    assert "stale card" in result.stdout
    modelcards("build", "-q", cwd=repo, env=expired)
    result = modelcards("check", cwd=repo, env=expired)
    assert "MC101 waiver expired on 2999-01-01" in result.stdout


def test_policy_requires_governance_evidence_and_written_sections(repo: Path) -> None:
    config = repo / "modelcards.yml"
    config.write_text(config.read_text() + (
        "policy:\n  fail_on: critical\n  required: [red_team]\n  required_sections: [Direct Use]\n"
        "governance:\n  red_team: docs/red-team.md\n"
    ))  # fmt: skip
    assert modelcards("build", "-q", cwd=repo).returncode == 0
    result = modelcards("check", cwd=repo)
    assert result.returncode == 1
    assert "MC701 (required by policy): required governance item missing: Red-team" in result.stdout
    assert "MC702 (required by policy): section 'Direct Use' is not written" in result.stdout
    (repo / "docs").mkdir()
    (repo / "docs/red-team.md").write_text("# Red team report\n")
    for model in ("chat-tuned", "chat-lora"):
        card = repo / f"models/{model}/README.md"
        text = card.read_text()
        if "### Direct Use" in text:  # the template's prompt, in a card modelcards started
            text = text.replace(
                "### Direct Use\n\n[More Information Needed]", "### Direct Use\n\nDrafting replies."
            )
        else:  # the author's own card has an "Intended use" section: a person adds the title
            text = text.replace(
                "## Intended use\n", "## Intended use\n\n### Direct Use\n\nDrafting replies.\n"
            )
        card.write_text(text)  # fmt: skip
    assert modelcards("build", "-q", cwd=repo).returncode == 0
    result = modelcards("check", cwd=repo)
    assert result.returncode == 0, result.stdout
    card = (repo / "models/chat-tuned/README.md").read_text()
    assert (
        "| Red-team / adversarial testing record (required) | evidenced | docs/red-team.md |"
        in card
    )


def test_config_rejects_unknown_rules_items_and_severities(tmp_path: Path) -> None:
    make_model(tmp_path / "m", config=llama_config())
    cases = [
        ("waivers:\n  - {rule: MC999, reason: x, owner: y}\n", "waivers[0].rule: unknown rule 'MC999'"),
        ("waivers:\n  - {rule: MC101, reason: x}\n", "waivers[0]: missing `owner`"),
        ("waivers:\n  - {rule: MC101, reason: x, owner: y, expires: soon}\n", "'soon' is not a date"),
        ("policy:\n  fail_on: severe\n", "policy.fail_on: 'severe' is not a severity"),
        ("policy:\n  required: [red_teem]\n", "unknown governance item 'red_teem' (did you mean 'red_team'?)"),
        ("governance:\n  redteam: x.md\n", "governance.redteam: unknown key (did you mean 'red_team'?)"),
    ]  # fmt: skip
    for extra, message in cases:
        (tmp_path / "modelcards.yml").write_text("models:\n  - path: m\n" + extra)
        result = modelcards("build", "--no-site", cwd=tmp_path)
        assert result.returncode == 2, extra
        assert message in result.stderr, (extra, result.stderr)
