"""`modelcards init`: which folders are models, what their bases are, and why; on real layouts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from modelcards.project.config import CONFIG_NAME, load_config, parse_config
from modelcards.project.discover import discover, render_config, unique_names
from modelcards.safeio.errors import ConfigError
from modelcards.safeio.yamlsafe import load_yaml
from modelfiles import llama_config, run_modelcards, write_json

LFS_POINTER = (
    "version https://git-lfs.github.com/spec/v1\n"
    "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
    "size 1034\n"
)
ADAPTER = {"peft_type": "LORA", "r": 8, "lora_alpha": 16, "target_modules": ["q_proj", "v_proj"]}
OFFLINE = {"HF_HUB_OFFLINE": "1"}


def adapter(base: str, **extra: Any) -> dict[str, Any]:
    return {**ADAPTER, "base_model_name_or_path": base, **extra}


def card(path: Path, front: str, body: str = "") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"---\n{front}---\n{body}", encoding="utf-8")


def summary(root: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """{model path: config base value}, {skipped path: kind}; the YAML must load as a config."""
    found = discover(root)
    config = parse_config(
        load_yaml(render_config(found), file=CONFIG_NAME, error=ConfigError, roundtrip=True),
        root=root,
        file=CONFIG_NAME,
    )
    names = [m.name for m in config.models]
    assert len(set(names)) == len(names) and all(n.strip() for n in names)
    raw = load_yaml(render_config(found), file=CONFIG_NAME, error=ConfigError)
    bases = {m["path"]: m.get("base") for m in raw["models"]}
    return bases, {s.path: s.kind for s in found.skipped}


def evidence(root: Path, path: str) -> str:
    return "\n".join(next(m for m in discover(root).models if m.path == path).evidence)


# --- names ---------------------------------------------------------------------------------


def test_a_model_at_the_root_is_named_after_the_project_folder(tmp_path: Path) -> None:
    project = tmp_path / "my-tuned-llama"
    write_json(project / "config.json", llama_config())
    result = run_modelcards("init", cwd=project)
    assert result.returncode == 0, result.stderr
    config = load_config(project)
    assert [(m.path, m.name) for m in config.models] == [(".", "my-tuned-llama")]


def test_folders_sharing_a_last_part_get_names_from_more_of_the_path(tmp_path: Path) -> None:
    for where in ("team-a/model", "team-b/model", "other"):
        write_json(tmp_path / where / "config.json", llama_config())
    found = discover(tmp_path)
    assert {m.path: m.name for m in found.models} == {
        "other": "other",
        "team-a/model": "team-a-model",
        "team-b/model": "team-b-model",
    }
    assert "name: team-a-model" in render_config(found)
    assert unique_names(["x/a/m", "y/a/m"], "p") == ["x-a-m", "y-a-m"]
    assert unique_names([".", "p"], "p") == ["p", "p-2"]


# --- folders that are not models -----------------------------------------------------------


def test_sentence_transformers_module_folders_are_modules_not_models(tmp_path: Path) -> None:
    for model in ("base", "tuned"):
        write_json(tmp_path / model / "config.json", {"model_type": "bert", "vocab_size": 9})
        write_json(tmp_path / model / "modules.json", [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ])  # fmt: skip
        write_json(tmp_path / model / "1_Pooling" / "config.json", {"word_embedding_dimension": 8})
    bases, skipped = summary(tmp_path)
    assert set(bases) == {"base", "tuned"}
    assert skipped == {"base/1_Pooling": "module", "tuned/1_Pooling": "module"}
    reason = next(s.reason for s in discover(tmp_path).skipped if s.path == "tuned/1_Pooling")
    assert "Pooling module of the model in tuned" in reason


def test_a_config_that_is_not_a_transformers_config_is_not_a_model(tmp_path: Path) -> None:
    write_json(tmp_path / "pooling" / "config.json", {"pooling_mode_mean_tokens": True})
    write_json(tmp_path / "lora" / "config.json", {"some": "tool config"})
    write_json(tmp_path / "lora" / "adapter_config.json", adapter("org/base"))
    # written before transformers recorded model_type: still a model config
    write_json(tmp_path / "legacy" / "config.json", {"vocab_size": 50265, "hidden_size": 768})
    bases, skipped = summary(tmp_path)
    assert set(bases) == {"legacy", "lora"}
    assert skipped == {"pooling": "not-a-model"}


def test_checkpoints_inside_a_model_folder_are_reported_as_its_checkpoints(tmp_path: Path) -> None:
    out = tmp_path / "outputs" / "lora-out"
    write_json(out / "adapter_config.json", adapter("org/base"))
    for step in (10, 20):
        write_json(out / f"checkpoint-{step}" / "adapter_config.json", adapter("org/base"))
        write_json(out / f"checkpoint-{step}" / "trainer_state.json", {"global_step": step})
    write_json(out / "last-checkpoint" / "config.json", llama_config())
    bases, skipped = summary(tmp_path)
    assert list(bases) == ["outputs/lora-out"]
    assert skipped == {f"outputs/lora-out/{c}": "checkpoint" for c in ("checkpoint-10", "checkpoint-20", "last-checkpoint")}  # fmt: skip
    reasons = {s.path.rsplit("/", 1)[1]: s.reason for s in discover(tmp_path).skipped}
    assert reasons["checkpoint-20"] == (
        "a training checkpoint of outputs/lora-out; its trainer_state.json is read into that "
        "model's card"
    )
    assert "read into" not in reasons["checkpoint-10"]
    # the model's own trainer_state.json wins over every checkpoint's
    write_json(out / "trainer_state.json", {"global_step": 20})
    assert not any("read into" in s.reason for s in discover(tmp_path).skipped)


def test_a_checkpoint_with_no_model_folder_above_it_is_the_model(tmp_path: Path) -> None:
    for step in (5, 7):
        write_json(tmp_path / "run" / f"checkpoint-{step}" / "config.json", llama_config())
    bases, skipped = summary(tmp_path)
    assert list(bases) == ["run/checkpoint-7"]
    assert skipped == {"run/checkpoint-5": "checkpoint"}


def test_lone_config_copies_inside_a_model_folder_are_skipped(tmp_path: Path) -> None:
    write_json(tmp_path / "config.json", llama_config())
    write_json(tmp_path / "history" / "config-ab12" / "config.json", llama_config(vocab_size=9))
    write_json(tmp_path / "history" / "tok-ab12" / "tokenizer_config.json", {})
    # beside the copy, a real second model inside the first: kept
    write_json(tmp_path / "branch" / "config.json", llama_config())
    (tmp_path / "branch" / "tokenizer_config.json").write_text("{}")
    bases, skipped = summary(tmp_path)
    assert set(bases) == {".", "branch"}
    assert skipped == {"history/config-ab12": "config-copy"}


def test_a_lone_config_not_inside_a_model_is_a_model(tmp_path: Path) -> None:
    write_json(tmp_path / "roberta" / "config.json", {"model_type": "roberta"})
    assert summary(tmp_path) == ({"roberta": None}, {})


# --- bases ---------------------------------------------------------------------------------


def test_a_vendored_base_is_written_as_a_mapping_and_not_listed(tmp_path: Path) -> None:
    (tmp_path / "base-model").mkdir()
    write_json(tmp_path / "base-model" / "config.json", llama_config())
    card(tmp_path / "base-model" / "README.md", "license: apache-2.0\n", "\n# tiny-llama-base\n")
    write_json(tmp_path / "lora" / "adapter_config.json", adapter("acme/tiny-llama-base"))
    # a fine-tune of the same base whose config also names it is not taken for the base's files
    write_json(
        tmp_path / "full" / "config.json", llama_config(_name_or_path="acme/tiny-llama-base")
    )
    write_json(tmp_path / "full" / "trainer_state.json", {"global_step": 1})
    bases, skipped = summary(tmp_path)
    vendored = {"path": "base-model", "id": "acme/tiny-llama-base"}
    assert bases == {"full": vendored, "lora": vendored}
    assert skipped == {"base-model": "base"}
    assert "its README.md heading '# tiny-llama-base'" in evidence(tmp_path, "lora")


@pytest.mark.parametrize("how", ["model_name", "folder", "name_or_path"])
def test_a_folder_says_which_hub_model_it_holds(tmp_path: Path, how: str) -> None:
    folder = tmp_path / ("TinyLlama-1.1B-Chat-v1.0" if how == "folder" else "upstream")
    write_json(folder / "config.json", llama_config(
        **({"_name_or_path": "TinyLlama/TinyLlama-1.1B-Chat-v1.0"} if how == "name_or_path" else {})
    ))  # fmt: skip
    if how == "model_name":
        card(folder / "README.md", "model_name: TinyLlama-1.1B-Chat-v1.0\n")
    if how == "name_or_path":  # config alone is weak: the copy of a Hub model carries its card
        card(folder / "README.md", "license: apache-2.0\n")
    write_json(
        tmp_path / "lora" / "adapter_config.json", adapter("TinyLlama/TinyLlama-1.1B-Chat-v1.0")
    )
    bases, skipped = summary(tmp_path)
    assert bases == {"lora": {"path": folder.name, "id": "TinyLlama/TinyLlama-1.1B-Chat-v1.0"}}
    assert skipped == {folder.name: "base"}


def test_a_base_folder_named_by_path_is_a_folder_base(tmp_path: Path) -> None:
    write_json(tmp_path / "base" / "config.json", llama_config())
    write_json(tmp_path / "tuned" / "adapter_config.json", adapter("../base"))
    assert summary(tmp_path) == ({"tuned": "base"}, {"base": "base"})


def test_a_local_path_of_the_training_machine_is_never_the_base(tmp_path: Path) -> None:
    write_json(tmp_path / "adapter_config.json", adapter("/dev/shm/Qwen/Qwen3-14B"))
    card(tmp_path / "README.md", "library_name: peft\nbase_model: /dev/shm/Qwen/Qwen3-14B\n")
    write_json(tmp_path / "other" / "adapter_config.json", adapter("/workspace/models/llama-7b"))
    cache = "/root/.cache/huggingface/hub/models--Qwen--Qwen2-7B/snapshots/" + "a" * 40
    write_json(tmp_path / "cached" / "adapter_config.json", adapter(cache))
    bases, _ = summary(tmp_path)
    assert bases == {".": None, "cached": None, "other": None}
    text = evidence(tmp_path, ".")
    assert "adapter_config.json base_model_name_or_path (also README.md base_model)" in text
    assert "/dev/shm/Qwen/Qwen3-14B: a path on the machine it was trained on" in text
    assert "if that is the Hub model Qwen/Qwen3-14B, write base: Qwen/Qwen3-14B" in text
    assert "write base:" not in evidence(tmp_path, "other")  # models/llama-7b is no Hub id
    assert f"write base: Qwen/Qwen2-7B@{'a' * 40}" in evidence(tmp_path, "cached")
    yml = render_config(discover(tmp_path))
    assert "/dev/shm" not in "\n".join(line.split("#")[0] for line in yml.splitlines())


def test_a_hub_url_is_normalised_to_the_id(tmp_path: Path) -> None:
    write_json(tmp_path / "q" / "config.json", llama_config())
    card(tmp_path / "q" / "README.md", "base_model: https://huggingface.co/budecosystem/genz-70b\n")
    assert summary(tmp_path) == ({"q": "budecosystem/genz-70b"}, {})
    assert "normalised to budecosystem/genz-70b" in evidence(tmp_path, "q")


def test_disagreeing_candidates_are_chosen_by_trust_and_said(tmp_path: Path) -> None:
    write_json(tmp_path / "m" / "adapter_config.json", adapter("org/y@v2"))
    card(tmp_path / "m" / "README.md", "base_model:\n- org/x\n- org/z\n")
    assert summary(tmp_path) == ({"m": "org/y@v2"}, {})
    text = evidence(tmp_path, "m")
    assert "adapter_config.json names org/y@v2; README.md names org/x" in text
    assert "README.md base_model also lists org/z" in text


def test_name_or_path_naming_the_folder_itself_is_not_a_base(tmp_path: Path) -> None:
    name = "meta-llama/Llama-2-7b-hf"
    write_json(tmp_path / "Llama-2-7b-hf" / "config.json", llama_config(_name_or_path=name))
    write_json(tmp_path / "saved" / "config.json", llama_config(_name_or_path="saved"))
    write_json(tmp_path / "pyg" / "my-pygmalion-7b" / "config.json", llama_config(_name_or_path="pygmalion-7b"))  # fmt: skip
    bases, _ = summary(tmp_path)
    assert bases == {"Llama-2-7b-hf": None, "pyg/my-pygmalion-7b": None, "saved": None}
    assert "names this folder itself" in evidence(tmp_path, "Llama-2-7b-hf")
    assert f"write base: {name}" in evidence(tmp_path, "Llama-2-7b-hf")
    assert "write base" not in evidence(tmp_path, "pyg/my-pygmalion-7b")  # no namespace
    # a fine-tune named after its base with a prefix still has that base ...
    other = tmp_path / "other"
    write_json(other / "sft-Llama-2-7b-hf" / "config.json", llama_config(_name_or_path=name))
    assert summary(other) == ({"sft-Llama-2-7b-hf": name}, {})
    # ... and when the base's own copy is beside it, that copy is its base
    write_json(other / "Llama-2-7b-hf" / "config.json", llama_config(_name_or_path=name))
    assert summary(other) == (
        {"sft-Llama-2-7b-hf": {"path": "Llama-2-7b-hf", "id": name}},
        {"Llama-2-7b-hf": "base"},
    )


# --- reading files never stops init ----------------------------------------------------------


def test_unreadable_files_are_reported_not_fatal(tmp_path: Path) -> None:
    write_json(tmp_path / "bad" / "adapter_config.json", adapter("org/base"))
    (tmp_path / "bad" / "config.json").write_text('{\n  "model_type": "llama",\n  "x": }\n')
    (tmp_path / "bad" / "README.md").write_text("---\nbase_model: [unclosed\n---\n")
    (tmp_path / "lfs").mkdir()
    (tmp_path / "lfs" / "config.json").write_text(LFS_POINTER)
    (tmp_path / "lfs" / "README.md").write_text(LFS_POINTER)
    write_json(tmp_path / "shards" / "config.json", llama_config(_name_or_path="org/base"))
    write_json(tmp_path / "shards" / "model.safetensors.index.json", {
        "metadata": {}, "weight_map": {"a": "model-00001-of-00002.safetensors"},
    })  # fmt: skip
    result = run_modelcards("init", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "skipped: config.json: malformed JSON at line 3" in result.stdout
    assert "skipped: README.md front matter: line " in result.stdout
    assert "skipped: config.json: only a Git-LFS pointer is present" in result.stdout
    bases, _ = summary(tmp_path)
    assert bases == {"bad": "org/base", "lfs": None, "shards": "org/base"}


def test_a_folder_with_no_model_reports_why(tmp_path: Path) -> None:
    write_json(tmp_path / "tool" / "config.json", {"threshold": 3})
    result = run_modelcards("init", cwd=tmp_path)
    assert result.returncode == 2
    assert "no model folders found" in result.stderr and "tool: config.json is not" in result.stderr


# --- the command ---------------------------------------------------------------------------


def test_json_format_and_force(tmp_path: Path) -> None:
    write_json(tmp_path / "config.json", llama_config())
    write_json(tmp_path / "1_Pooling" / "config.json", {"pooling_mode_cls_token": False})
    write_json(tmp_path / "modules.json", [{"idx": 1, "path": "1_Pooling", "type": "x.Pooling"}])
    write_json(tmp_path / "lora" / "adapter_config.json", adapter("org/base"))
    result = run_modelcards("init", "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert [(m["path"], m["name"], m["base"]) for m in data["models"]] == [
        (".", tmp_path.name, None),
        ("lora", "lora", "org/base"),
    ]
    assert data["models"][1]["evidence"] == [
        "from adapter_config.json base_model_name_or_path = org/base"
    ]
    assert [(s["path"], s["kind"]) for s in data["skipped"]] == [("1_Pooling", "module")]
    again = run_modelcards("init", cwd=tmp_path)
    assert again.returncode == 2 and "already exists (use --force" in again.stderr
    (tmp_path / CONFIG_NAME).write_text("models: []\n")
    forced = run_modelcards("init", "--force", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    text = (tmp_path / CONFIG_NAME).read_text()
    assert "path: lora" in text and "#   1_Pooling: a sentence-transformers Pooling module" in text


def test_init_then_build_on_the_bundled_example(repo: Path) -> None:
    (repo / CONFIG_NAME).unlink()
    result = run_modelcards("init", cwd=repo, env=OFFLINE)
    assert result.returncode == 0, result.stderr
    config = load_config(repo)
    assert {m.path: (m.base.path, m.base.id) for m in config.models if m.base} == {
        "models/chat-lora": ("base-model", "acme/tiny-llama-base"),
        "models/chat-tuned": ("base-model", "acme/tiny-llama-base"),
    }
    assert "base-model: the base of models/chat-lora, models/chat-tuned" in result.stdout
    build = run_modelcards("build", "--no-site", cwd=repo, env=OFFLINE)
    assert build.returncode == 0, build.stderr
    assert "base_model: acme/tiny-llama-base" in (repo / "models/chat-lora/README.md").read_text()


# --- the real repositories -----------------------------------------------------------------

GENZ = "budecosystem/genz-70b"
REAL: dict[str, tuple[dict[str, Any], dict[str, str]]] = {
    "all-minilm-l6-v2-pypi": ({".": "nreimers/MiniLM-L6-H384-uncased"}, {"1_Pooling": "module"}),
    "axolotl-tinyllama-lora-out": (
        {"outputs/lora-out": "TinyLlama/TinyLlama-1.1B-intermediate-step-1431k-3T"},
        {"outputs/lora-out/checkpoint-20": "checkpoint"},
    ),
    "dialogpt-small": (
        {".": None},
        {
            f"history/config-{s}": "config-copy"
            for s in ("46bd8a3", "84fac20", "ac43d91", "b7ac3a6", "fe20bc6")
        },
    ),  # fmt: skip
    "dolly-v1-6b": ({".": "EleutherAI/gpt-j-6B"}, {}),
    "gptq-genz-70b-multibranch": (
        {
            ".": GENZ,
            **{
                f"branches/gptq-{b}-actorder_True": GENZ
                for b in ("3bit--1g", "3bit-128g", "4bit-32g")
            },
        },
        {},
    ),  # fmt: skip
    "hf-trainer-whisper-large-v2-ja": (
        {".": "openai/whisper-large-v2"},
        {"last-checkpoint": "checkpoint"},
    ),  # fmt: skip
    "history-llama2-7b-hf-base": (
        {".": "meta-llama/Llama-2-7b-hf"},
        {
            f"history/config.json-{s}": "config-copy"
            for s in (
                "15c45516a84f088348736d1292a9e8af46f408b4",
                "335a02887eb6684d487240bbc28b5699298c3135",
                "5373729fe54540a2dc9f5ccabbea20adafe021b7",
                "637a748546bb9abca62b0684183cc362bc1ece6d",
                "87a34353be0b8f180a400e5d7ddace5373c1a136",
            )
        },
    ),  # fmt: skip
    "llamafactory-qwen3-14b-lora": ({".": None}, {}),
    "mergekit-yi15-6b-slerp": ({".": "01-ai/Yi-1.5-6B-Chat"}, {}),
    "partial-shards-pygmalion-7b": ({".": None}, {"head": "weights-copy"}),  # its 7 shards only
    "peft-lora-yandexgpt5-lite-8b": ({".": "yandex/YandexGPT-5-Lite-8B-instruct"}, {}),
    "roberta-base-legacy": ({".": None}, {}),
    "roberta-base-squad2": ({".": None}, {}),
    "st-movie-minilm-l6-v2-mnrl": (
        {
            "movie_query_engine/data/sbert-finetuned-movie-model": {
                "path": "base",
                "id": "sentence-transformers/all-MiniLM-L6-v2",
            }
        },
        {
            "base": "base",
            "base/1_Pooling": "module",
            "movie_query_engine/data/sbert-finetuned-movie-model/1_Pooling": "module",
        },
    ),  # fmt: skip
    "tinyllama-1.1b-chat-base": ({".": None}, {}),
    "tinyllama-lora-structured-output": ({".": "TinyLlama/TinyLlama-1.1B-Chat-v1.0"}, {}),
    "unsloth-llama31-8b-ros2-lora": ({"ros2_model": "unsloth/Meta-Llama-3.1-8B-bnb-4bit"}, {}),
    "yarn-mistral-7b-128k": ({".": None}, {}),
}


@pytest.mark.parametrize("case", sorted(REAL))
def test_real_repositories(realcases: Path, case: str) -> None:
    if not (realcases / case).is_dir():
        pytest.skip(f"{case} is not among the real cases here")
    assert summary(realcases / case) == REAL[case]


def test_every_real_repository_gives_a_valid_config(realcases: Path) -> None:
    cases = [p for p in sorted(realcases.iterdir()) if p.is_dir()]
    assert cases
    for case in cases:  # including cases added after this test was written
        bases, _ = summary(case)
        assert bases, case.name


def test_real_local_path_base_is_flagged_with_a_suggestion(realcases: Path) -> None:
    case = realcases / "llamafactory-qwen3-14b-lora"
    if not case.is_dir():
        pytest.skip("llamafactory-qwen3-14b-lora is not among the real cases here")
    text = evidence(case, ".")
    assert "/dev/shm/Qwen/Qwen3-14B: a path on the machine it was trained on" in text
    assert "if that is the Hub model Qwen/Qwen3-14B, write base: Qwen/Qwen3-14B" in text


def test_real_partial_shards_do_not_stop_init(realcases: Path, tmp_path: Path) -> None:
    case = realcases / "partial-shards-pygmalion-7b"
    if not case.is_dir():
        pytest.skip("partial-shards-pygmalion-7b is not among the real cases here")
    project = tmp_path / case.name
    shutil.copytree(case, project)
    project.chmod(0o755)
    for path in project.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    result = run_modelcards("init", cwd=project)
    assert result.returncode == 0, result.stderr
    assert load_config(project).models[0].name == "partial-shards-pygmalion-7b"
