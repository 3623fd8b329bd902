"""`modelcards build` end to end on the bundled example: cards, change logs, card.json, site."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner
from huggingface_hub import ModelCard

from modelcards.cli import cli
from modelcards.render.fingerprint import read_fingerprint

GOLDEN = Path(__file__).parent / "golden"
SCHEMA = Path(__file__).resolve().parents[1] / "modelcards" / "schema" / "card.schema.json"


def without_fingerprint(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if "modelcards:fingerprint " not in line)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_build_writes_cards_huggingface_can_load(repo: Path) -> None:
    code, out, err = run("build", "-C", str(repo), "--no-site")
    assert code == 0, err
    assert "chat-tuned" in out and "README.md" in out
    card = ModelCard.load(repo / "models/chat-tuned/README.md")
    assert card.data.base_model == "acme/tiny-llama-base"
    assert card.data.to_dict()["base_model_relation"] == "finetune"
    assert card.data.license == "apache-2.0"
    assert card.data.library_name == "transformers"
    assert card.data.pipeline_tag == "text-generation"
    assert card.data.datasets == ["acme/support-chats"]
    assert card.data.language == ["en"]
    lora = ModelCard.load(repo / "models/chat-lora/README.md")
    assert lora.data.to_dict()["base_model_relation"] == "adapter"
    assert lora.data.library_name == "peft"
    # the adapter states no licence: it inherits the base's, and the card says so
    assert lora.data.license == "apache-2.0"
    assert "the base model's licence" in lora.text


def test_card_sections_and_changes(repo: Path) -> None:
    run("build", "-C", str(repo), "--no-site")
    text = (repo / "models/chat-tuned/README.md").read_text()
    for heading in (
        "## Model Details",
        "## Bias, Risks, and Limitations",
        "## Known risks",
        "## Training Details",
        "## Evaluation",
        "## Environmental Impact",
        "## Technical Specifications",
        "## Changes from the base model",
        "## Provenance",
        "## Change log",
    ):
        assert f"\n{heading}\n" in text, heading
    changes = text.split("## Changes from the base model")[1].split("## Provenance")[0]
    assert "vocabulary size 320 → 322 (+2 tokens)" in changes
    assert "```diff" in changes and "+{% for message in messages %}" in changes
    assert "sampling temperature 0.8 → 0.7" in changes
    # the engineer's own prose and YAML comment survive the first build; the template's prompt
    # for a section the card has under another title is not added beside it, nor a second title
    assert "## Intended use" in text and "drafts replies to customer chats" in text
    assert "## Uses" not in text and text.split("\n---\n", 1)[1].count("\n# ") == 1
    assert "# dataset is internal, see the data sheet" in text
    changelog = (repo / "models/chat-tuned/CHANGES.md").read_text()
    assert "## chat-tuned/v1.0 (2024-02-01)" in changelog
    assert "fine-tune chat-tuned on support chats" in changelog


def test_rebuild_is_byte_identical_and_keeps_human_edits(repo: Path) -> None:
    run("build", "-C", str(repo), "--no-site")
    card_path = repo / "models/chat-tuned/README.md"
    first = {
        p: p.read_bytes()
        for p in (repo / "models").rglob("*")
        if p.name in {"README.md", "CHANGES.md", "card.json"}
    }
    code, out, _ = run("build", "-C", str(repo), "--no-site")
    assert code == 0 and "0 files written" in out
    assert {p: p.read_bytes() for p in first} == first
    edited = card_path.read_text().replace(
        "## Bias, Risks, and Limitations\n\n[More Information Needed]",
        "## Bias, Risks, and Limitations\n\nDrafts can be wrong about refunds.",
    )
    edited = edited.replace(
        "pipeline_tag: text-generation",
        "pipeline_tag: text-generation\nthumbnail: logo.png  # ours",
    )
    card_path.write_text(edited)
    run("build", "-C", str(repo), "--no-site")
    rebuilt = card_path.read_text()
    assert "## Bias, Risks, and Limitations\n\nDrafts can be wrong about refunds." in rebuilt
    assert "thumbnail: logo.png  # ours" in rebuilt
    # nothing else moved; the front matter is an input, so the fingerprint follows the edit
    assert without_fingerprint(rebuilt) == without_fingerprint(edited)
    assert read_fingerprint(rebuilt) != read_fingerprint(edited)


def test_card_json_matches_schema_and_is_deterministic(
    repo: Path, example_repo: Path, tmp_path: Path
) -> None:
    run("build", "-C", str(repo), "--no-site")
    other = tmp_path / "other"
    shutil.copytree(example_repo, other, symlinks=True)
    run("build", "-C", str(other), "--no-site")
    schema = json.loads(SCHEMA.read_text())
    for model in ("chat-tuned", "chat-lora"):
        data = json.loads((repo / f"models/{model}/card.json").read_text())
        jsonschema.validate(data, schema)
        for name in ("README.md", "CHANGES.md", "card.json"):
            assert (repo / f"models/{model}/{name}").read_bytes() == (
                other / f"models/{model}/{name}"
            ).read_bytes()
    lora = json.loads((repo / "models/chat-lora/card.json").read_text())
    assert lora["diff"]["weights"]["adapter"]["trainable_params"] > 0
    sizes = {f["path"]: f["sha256"] for f in lora["provenance"]["files"]}
    assert "adapter_model.safetensors" in sizes and "README.md" not in sizes


def test_card_matches_golden_file(repo: Path) -> None:
    run("build", "-C", str(repo), "--no-site")
    for model in ("chat-tuned", "chat-lora"):
        actual = (repo / f"models/{model}/README.md").read_text()
        golden = GOLDEN / f"{model}.README.md"
        if os.environ.get("UPDATE_GOLDEN"):
            golden.parent.mkdir(exist_ok=True)
            golden.write_text(actual)
        assert actual == golden.read_text(), (
            f"{model} card differs from {golden} (UPDATE_GOLDEN=1 to accept)"
        )


def test_site_builds_strictly_and_shows_markup_as_text(repo: Path) -> None:
    readme = repo / "models/chat-tuned/README.md"
    readme.write_text(
        readme.read_text()
        + "\nA <script>alert('card')</script> and <img src=x onerror=alert(1)>.\n"
    )
    tokenizer = repo / "models/chat-tuned/tokenizer_config.json"
    data = json.loads(tokenizer.read_text())
    data["added_tokens_decoder"]["322"] = {"content": "<script>alert(1)</script>", "special": True}
    tokenizer.write_text(json.dumps(data))
    code, out, err = run("build", "-C", str(repo))
    assert code == 0, err
    index = repo / "site" / "index.html"
    assert index.is_file() and "chat-tuned" in index.read_text()
    page = (repo / "site/models/chat-tuned/index.html").read_text()
    diff_page = (repo / "site/models/chat-tuned/report.html").read_text()
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in diff_page
    assert "<script>alert" not in diff_page
    assert (repo / "modelcards-site/mkdocs.yml").is_file()


def test_site_folder_of_someone_else_is_not_clobbered(repo: Path) -> None:
    (repo / "modelcards-site").mkdir()
    (repo / "modelcards-site" / "notes.md").write_text("mine")
    code, _, err = run("build", "-C", str(repo))
    assert code == 2
    assert "modelcards-site holds files modelcards did not write" in err
    assert (repo / "modelcards-site" / "notes.md").read_text() == "mine"
    assert not (repo / "models/chat-tuned/card.json").exists()  # nothing half-done


def test_unchanged_models_are_not_rendered_again(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import modelcards.project.build as build
    from modelcards.project.config import load_config

    run("build", "-C", str(repo), "--no-site")
    rendered: list[str] = []
    real = build.render_model

    def counting(inputs, *args, **kwargs):  # type: ignore[no-untyped-def]
        rendered.append(inputs.entry.name)
        return real(inputs, *args, **kwargs)

    monkeypatch.setattr(build, "render_model", counting)
    models = build.render_project(load_config(repo))
    assert rendered == [] and [m.name for m in models] == ["chat-tuned", "chat-lora"]
    config = repo / "models/chat-lora/adapter_config.json"
    config.write_text(config.read_text().replace('"r": 8', '"r": 4'))
    build.render_project(load_config(repo))
    assert rendered == ["chat-lora"]


def test_project_templates_override_the_defaults_and_fail_cleanly(repo: Path) -> None:
    (repo / "my-templates").mkdir()
    (repo / "my-templates/changes.md.j2").write_text(
        "# {{ model.name }} at a glance\n\n{{ diff.summary.significant }} significant changes.\n"
    )
    config = repo / "modelcards.yml"
    config.write_text(config.read_text() + "templates: my-templates\n")
    code, _, err = run("build", "-C", str(repo), "--no-site")
    assert code == 0, err
    assert (repo / "models/chat-tuned/CHANGES.md").read_text() == (
        "# chat-tuned at a glance\n\n15 significant changes.\n"
    )
    for broken, message in (
        ("{{ no_such_value }}", "'no_such_value' is undefined"),
        ("{{ model.name + 1 }}", "template failed: TypeError"),
        ("{{ ''.__class__.__mro__ }}", "unsafe"),
    ):
        (repo / "my-templates/changes.md.j2").write_text(broken)
        code, _, err = run("build", "-C", str(repo), "--no-site")
        assert code == 2 and message in err and "Traceback" not in err, err
