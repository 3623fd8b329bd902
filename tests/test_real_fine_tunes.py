"""Real fine-tunes as people have them, offline with nothing cached: `init && build` writes a
true card for each — the author's lineage kept, and no sentence its coverage does not support."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import jsonschema
import pytest
from markdown_it import MarkdownIt
from ruamel.yaml import YAML

from modelcards.inspect.card import split_front_matter
from modelcards.resolve.hubid import classify_base_name
from modelfiles import REALCASES, git, run_modelcards

SCHEMA = json.loads((Path(__file__).parents[1] / "modelcards/schema/card.schema.json").read_text())
CASES = sorted(p.name for p in REALCASES.iterdir() if p.is_dir()) if REALCASES.is_dir() else []


def front_matter(text: str) -> dict:
    front, _ = split_front_matter(text)
    return YAML(typ="safe").load(front or "") or {}


COMMONMARK = MarkdownIt("commonmark")


def headings(body: str) -> list[str]:
    """`h2 training details` for each heading, as a CommonMark parser reads the text."""
    tokens = COMMONMARK.parse(body)
    return [
        f"{t.tag} {tokens[i + 1].content.strip().lower()}"
        for i, t in enumerate(tokens)
        if t.type == "heading_open"
    ]


def generated_blocks(body: str) -> int:
    return sum(
        t.content.count("<!-- modelcards:begin ")
        for t in COMMONMARK.parse(body)
        if t.type == "html_block"
    )


def hub_bases(meta: dict) -> list[str]:
    value = meta.get("base_model")
    named = [classify_base_name(v) for v in (value if isinstance(value, list) else [value]) if v]
    return [n.reference for n in named if n is not None and n.kind == "hub"]


def offline(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "empty-hf-home"
    home.mkdir(exist_ok=True)
    return {"HF_HOME": str(home), "HF_HUB_CACHE": str(home / "hub"), "HF_HUB_OFFLINE": "1"}


def project_of(case: str, tmp_path: Path) -> Path:
    project = tmp_path / case
    shutil.copytree(REALCASES / case, project)
    for path in [project, *project.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o200)
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "as published")
    return project


def initialised_and_built(case: str, tmp_path: Path) -> Path:
    """A real case as a user has it, after `init` and `build --no-site`, offline."""
    project = project_of(case, tmp_path)
    env = offline(tmp_path)
    assert run_modelcards("init", cwd=project, env=env).returncode == 0
    assert run_modelcards("build", "--no-site", cwd=project, env=env).returncode == 0
    return project


@pytest.mark.skipif(not CASES, reason="../shared/realcases is not present beside this checkout")
@pytest.mark.parametrize("case", CASES)
def test_init_and_build_offline(case: str, tmp_path: Path) -> None:
    project = project_of(case, tmp_path)
    env = offline(tmp_path)
    readmes = {
        p.parent.relative_to(project).as_posix(): p.read_text(encoding="utf-8")
        for p in project.rglob("README.md")
        if not p.read_bytes().startswith(b"version https://git-lfs")
    }
    authored = {path: front_matter(text) for path, text in readmes.items()}
    assert run_modelcards("init", cwd=project, env=env).returncode == 0
    built = run_modelcards("build", "--no-site", "--format", "json", cwd=project, env=env)
    assert built.returncode == 0, built.stderr
    summary = json.loads(built.stdout)
    assert summary["models"] and summary["failed"] == []
    for model in summary["models"]:
        folder = project / model["path"]
        context = json.loads((folder / "card.json").read_text())
        jsonschema.validate(context, SCHEMA)
        card = (folder / "README.md").read_text()
        coverage = context["coverage"]
        # the author's base_model survives (a URL is written as the id it names)
        kept = hub_bases(front_matter(card))
        for base in hub_bases(authored.get(model["path"], {})):
            assert base in kept, (model["path"], base, kept)
        assert not any(
            "/dev/" in t or "/workspace" in t for t in front_matter(card).get("tags", [])
        )
        # sentences follow from coverage
        compared = coverage["base"]["state"] == "compared"
        assert compared == (context["diff"] is not None)
        assert ("checked what changed against the base" in card) == compared
        if "No risks were found." in card:
            assert coverage["complete"] and coverage["weights"]["state"] == "complete"
        if not compared:
            assert "significant change" not in card.split("<!-- modelcards:end header -->")[0]
        assert "#### Coverage" in card and coverage["weights"]["summary"] in card.replace("\\", "")
        assert "holds 0 trainable parameters" not in card
        # read as the Hub reads it: every generated block is Markdown (no fence left open
        # swallows it), modelcards adds no second H1 and no heading the card already has
        body = split_front_matter(card)[1]
        own = headings(split_front_matter(readmes.get(model["path"], ""))[1])
        found = headings(body)
        assert generated_blocks(body) == body.count("<!-- modelcards:begin ")
        titles = sum(h.startswith("h1 ") for h in found)
        assert titles <= max(1, sum(h.startswith("h1 ") for h in own)), (model["path"], found)
        doubled = {h for h in found if found.count(h) > max(1, own.count(h))}
        assert not doubled, (model["path"], doubled)
    again = run_modelcards("build", "--no-site", "--format", "json", cwd=project, env=env)
    assert json.loads(again.stdout)["written"] == []  # same inputs, same bytes: nothing to write


@pytest.mark.skipif(not CASES, reason="../shared/realcases is not present beside this checkout")
def test_partial_shards_say_how_many_are_missing(tmp_path: Path) -> None:
    project = initialised_and_built("partial-shards-pygmalion-7b", tmp_path)
    context = json.loads((project / "card.json").read_text())
    weights = context["coverage"]["weights"]
    assert weights["state"] == "partial"
    assert weights["missing"] == ["model-00001-of-00002.safetensors"]
    assert "1 of 2 weight files present" in weights["summary"]
    assert "MC617" in {r["rule"] for r in context["risks"]}
    assert "No risks were found" not in (project / "README.md").read_text()


@pytest.mark.skipif(not CASES, reason="../shared/realcases is not present beside this checkout")
def test_a_base_recorded_as_a_training_machine_path(tmp_path: Path) -> None:
    project = initialised_and_built("llamafactory-qwen3-14b-lora", tmp_path)
    card = (project / "README.md").read_text()
    meta = front_matter(card)
    assert "base_model" not in meta  # a path is never published as base_model …
    assert not [t for t in meta.get("tags", []) if t.startswith("base_model:")]  # … nor as a tag
    context = json.loads((project / "card.json").read_text())
    assert context["coverage"]["base"]["state"] == "path-only"
    mc613 = [r for r in context["risks"] if r["rule"] == "MC613"]
    assert mc613 and mc613[0]["evidence"]["path"] == "/dev/shm/Qwen/Qwen3-14B"
    assert "records its base only as a path on the training machine" in card


def write_adapter(folder: Path, readme: str, base: str = "org/base") -> None:
    folder.mkdir(parents=True)
    adapter = {"peft_type": "LORA", "r": 8, "lora_alpha": 16, "base_model_name_or_path": base,
               "target_modules": ["q_proj"], "task_type": "CAUSAL_LM"}  # fmt: skip
    (folder / "adapter_config.json").write_text(json.dumps(adapter))
    (folder / "README.md").write_text(readme)


def test_the_authors_lineage_is_kept_and_contradictions_are_findings(tmp_path: Path) -> None:
    project = tmp_path / "project"
    write_adapter(project / "peft-template", "---\nbase_model: org/base\nlibrary_name: peft\n"
                  "tags:\n- base_model:adapter:org/base\n- lora\n---\n# Model Card\n")  # fmt: skip
    write_adapter(project / "disagrees", "---\nbase_model: org/other\n---\n# x\n")
    write_adapter(project / "local", "---\nbase_model: /workspace/models/base\ntags:\n"
                  "- base_model:adapter:/workspace/models/base\n---\n# y\n", "/workspace/models/base")  # fmt: skip
    (project / "modelcards.yml").write_text(
        "models:\n  - path: peft-template\n  - path: disagrees\n    base: org/base\n"
        "  - path: local\n"
    )
    env = offline(tmp_path)
    result = run_modelcards("build", "--no-site", cwd=project, env=env)
    assert result.returncode == 0, result.stderr

    template = (project / "peft-template" / "README.md").read_text()
    meta = front_matter(template)
    assert meta["base_model"] == "org/base"  # no base configured: the author's is kept
    assert "base_model:adapter:org/base" in meta["tags"]
    assert "names [org/base](https://huggingface.co/org/base) as its base model" in template

    disagrees = (project / "disagrees" / "README.md").read_text()
    assert front_matter(disagrees)["base_model"] == "org/other"  # kept as the author wrote it
    risks = json.loads((project / "disagrees" / "card.json").read_text())["risks"]
    mc614 = [r for r in risks if r["rule"] == "MC614"]
    assert mc614 and mc614[0]["evidence"]["file_value"] == "org/other"
    assert mc614[0]["evidence"]["configured"] == "org/base"
    assert any(r["rule"] == "MC615" for r in risks)  # org/base is configured but not cached

    local = front_matter((project / "local" / "README.md").read_text())
    assert "base_model" not in local
    assert not [t for t in local["tags"] if t.startswith("base_model:")] and "lora" in local["tags"]
    path_risks = json.loads((project / "local" / "card.json").read_text())["risks"]
    assert {r["file"] for r in path_risks if r["rule"] == "MC613"} == {"adapter_config.json"}


def test_one_models_failure_is_that_models(tmp_path: Path) -> None:
    project = tmp_path / "project"
    write_adapter(project / "good", "# good\n")
    write_adapter(project / "broken", "# broken\n")
    (project / "broken" / "adapter_config.json").write_text('{"peft_type": "LORA",')
    (project / "modelcards.yml").write_text("models:\n  - path: broken\n  - path: good\n")
    result = run_modelcards("build", "--no-site", "--format", "json", cwd=project)
    assert result.returncode == 2
    summary = json.loads(result.stdout)
    assert [m["name"] for m in summary["models"]] == ["good"]
    assert summary["failed"][0]["name"] == "broken"
    assert "broken/adapter_config.json: malformed JSON" in summary["failed"][0]["error"]
    assert (project / "good" / "card.json").is_file()
    assert not (project / "broken" / "card.json").exists()
    assert "Traceback" not in result.stderr


def test_a_diverged_run_is_read_and_reported(tmp_path: Path) -> None:
    project = tmp_path / "project"
    write_adapter(project / "lora", "# lora\n")
    state = (
        '{"global_step": 2, "log_history": [{"step": 1, "loss": 1.5}, {"step": 2, "loss": NaN}]}'
    )
    (project / "lora" / "trainer_state.json").write_text(state)
    (project / "modelcards.yml").write_text("models:\n  - path: lora\n")
    result = run_modelcards("build", "--no-site", cwd=project)
    assert result.returncode == 0, result.stderr
    context = json.loads((project / "lora" / "card.json").read_text())  # valid JSON
    assert context["training"]["history"][1]["loss"] == "NaN"
    assert not any(
        isinstance(v, float) and math.isnan(v) for v in [context["training"]["final_loss"]]
    )
    mc616 = [r for r in context["risks"] if r["rule"] == "MC616"]
    assert mc616 and "step 2" in mc616[0]["message"]


def test_a_merge_listing_several_bases_agrees_with_one_of_them(tmp_path: Path) -> None:
    project = tmp_path / "project"
    write_adapter(project / "merge", "---\nbase_model:\n- org/base\n- org/second\n---\n# m\n")
    write_adapter(project / "other", "---\nbase_model:\n- org/x\n- org/y\n---\n# o\n")
    (project / "modelcards.yml").write_text(
        "models:\n  - path: merge\n    base: org/base\n  - path: other\n    base: org/base\n"
    )
    assert run_modelcards("build", "--no-site", cwd=project, env=offline(tmp_path)).returncode == 0

    def mc614(name: str) -> list[str]:
        risks = json.loads((project / name / "card.json").read_text())["risks"]
        return sorted(r["evidence"]["file_value"] for r in risks if r["rule"] == "MC614")

    assert mc614("merge") == []
    assert mc614("other") == ["org/x", "org/y"]


@pytest.mark.skipif(not CASES, reason="../shared/realcases is not present beside this checkout")
def test_weights_absent_from_a_folder_are_not_reported_as_removed(tmp_path: Path) -> None:
    project = initialised_and_built("st-movie-minilm-l6-v2-mnrl", tmp_path)
    (card,) = project.rglob("sbert-finetuned-movie-model/card.json")
    context = json.loads(card.read_text())
    assert context["coverage"]["weights"]["state"] == "absent"
    assert not [c for c in context["diff"]["changes"] if c["key"].startswith("files.")]
    assert not [c for c in context["diff"]["changes"] if "weight file" in c["meaning"]]


@pytest.mark.skipif(not CASES, reason="../shared/realcases is not present beside this checkout")
def test_a_model_at_the_root_with_its_site_is_current_after_one_commit(tmp_path: Path) -> None:
    """The site lives inside a root model's folder: it is build's output, never the model's
    input; and the author's README links `arxiv.org/abs/…` without a scheme, which the site
    shows as text instead of failing its strict build on a missing page."""
    project = project_of("history-llama2-7b-hf-base", tmp_path)
    env = offline(tmp_path)
    assert run_modelcards("init", cwd=project, env=env).returncode == 0
    built = run_modelcards("build", "-q", cwd=project, env=env)
    assert built.returncode == 0, built.stderr
    page = (project / "site/index.html").read_text()
    assert "history-llama2-7b-hf-base" in page
    git(project, "add", "-A")
    git(project, "commit", "-qm", "docs: cards and site")
    check = run_modelcards("check", cwd=project, env=env)
    assert check.returncode == 0, check.stdout
    again = run_modelcards("build", "-q", "--format", "json", cwd=project, env=env)
    assert json.loads(again.stdout)["written"] == []
    changes = (project / "CHANGES.md").read_text()
    assert "modelcards-site/" not in changes and "site/index.html" not in changes
