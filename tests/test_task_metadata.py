"""The task, modalities, precision and Hub metadata a card states, each from the file that says
it: unit tests of the tables and their order, model folders written in tmp, and the real cases
under ../shared/realcases (skipped when absent)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from modelcards.assess.licence_family import base_licence, family_licence
from modelcards.assess.task_rules import task_findings
from modelcards.inspect import inspect_snapshot
from modelcards.inspect.card import split_front_matter
from modelcards.inspect.facts import ModelFacts
from modelcards.inspect.frameworks import read_frameworks
from modelcards.inspect.task import architecture_task, read_task
from modelcards.publish.compliance import eu_ai_act_items
from modelcards.render.hub_metadata import library_name, licence_keys, relation_from_files
from modelcards.render.precision import encoder_decoder, precision
from modelcards.resolve import open_folder
from modelfiles import REALCASES, git, llama_config, make_model, run_modelcards, write_json

WHISPER_CONFIG = {
    "architectures": ["WhisperForConditionalGeneration"], "model_type": "whisper",
    "is_encoder_decoder": True, "d_model": 1280, "encoder_layers": 32, "decoder_layers": 32,
    "encoder_attention_heads": 20, "decoder_attention_heads": 20, "encoder_ffn_dim": 5120,
    "decoder_ffn_dim": 5120, "num_hidden_layers": 32, "vocab_size": 51865,
    "torch_dtype": "float32", "transformers_version": "4.26.0.dev0",
}  # fmt: skip
WHISPER_PREPROCESSOR = {
    "feature_extractor_type": "WhisperFeatureExtractor", "feature_size": 80,
    "sampling_rate": 16000, "chunk_length": 30, "processor_class": "WhisperProcessor",
}  # fmt: skip


def facts_of(folder: Path) -> ModelFacts:
    return inspect_snapshot(open_folder(folder, project_root=folder.parent))


def front_matter(text: str) -> dict[str, Any]:
    front, _ = split_front_matter(text)
    return YAML(typ="safe").load(front or "") or {}


# -- the architecture table --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "task"),
    [
        ("LlamaForCausalLM", "text-generation"),
        ("GPT2LMHeadModel", "text-generation"),
        ("BertForMaskedLM", "fill-mask"),
        ("RobertaForSequenceClassification", "text-classification"),
        ("BertForTokenClassification", "token-classification"),
        ("RobertaForQuestionAnswering", "question-answering"),
        ("T5ForConditionalGeneration", "text2text-generation"),
        ("BartForConditionalGeneration", "text2text-generation"),
        ("MarianMTModel", "text2text-generation"),
        ("WhisperForConditionalGeneration", "automatic-speech-recognition"),
        ("Speech2TextForConditionalGeneration", "automatic-speech-recognition"),
        ("SpeechEncoderDecoderModel", "automatic-speech-recognition"),
        ("Wav2Vec2ForCTC", "automatic-speech-recognition"),
        ("HubertForSequenceClassification", "text-classification"),  # the class says so
        ("Wav2Vec2ForAudioClassification", "audio-classification"),
        ("ViTForImageClassification", "image-classification"),
        ("DetrForObjectDetection", "object-detection"),
        ("SegformerForSemanticSegmentation", "image-segmentation"),
        ("LlavaForConditionalGeneration", "image-text-to-text"),
        ("LlavaNextForConditionalGeneration", "image-text-to-text"),
        ("Idefics2ForConditionalGeneration", "image-text-to-text"),
        ("Qwen2VLForConditionalGeneration", "image-text-to-text"),
        ("PaliGemmaForConditionalGeneration", "image-text-to-text"),
        ("AutoModelForVision2Seq", "image-text-to-text"),
        ("VisionEncoderDecoderModel", "image-to-text"),
        ("CLIPModel", "zero-shot-image-classification"),
        ("BertForMultipleChoice", None),  # known, but the Hub has no such task
        ("FooForConditionalGeneration", None),  # never a guess from the suffix
        ("BertModel", None),  # a bare encoder: its use is not in the class
        ("", None),
    ],
)
def test_architecture_table(cls: str, task: str | None) -> None:
    assert architecture_task(cls) == task


def test_a_bare_model_with_sentence_transformers_files_is_sentence_similarity() -> None:
    assert architecture_task("BertModel", {"modules.json"}) == "sentence-similarity"
    assert architecture_task("BertModel", {"config.json"}) is None


# -- the order of sources ----------------------------------------------------------------------

INDEXED = {"model-index": [{"name": "m", "results": [{"task": {"type": "question-answering"}}]}]}


@pytest.mark.parametrize(
    ("meta", "config", "adapter", "expected"),
    [
        (
            {"pipeline_tag": "summarization", **INDEXED},
            {"architectures": ["BartForConditionalGeneration"]},
            None,
            ("summarization", "README.md pipeline_tag"),
        ),
        (
            INDEXED,
            {"architectures": ["RobertaForMaskedLM"]},
            None,
            ("question-answering", "README.md model-index"),
        ),
        (
            {"model-index": [{"name": "m", "results": []}]},
            {"architectures": ["WhisperForConditionalGeneration"]},
            {"task_type": "SEQ_2_SEQ_LM"},
            (
                "automatic-speech-recognition",
                "config.json architectures (WhisperForConditionalGeneration)",
            ),
        ),
        (
            {},
            None,
            {"task_type": "SEQ_CLS"},
            ("text-classification", "adapter_config.json task_type (SEQ_CLS)"),
        ),
        (  # a tag the files agree with cites the file: a build's own tag reads back the same
            {"pipeline_tag": "text-generation"},
            {"architectures": ["LlamaForCausalLM"]},
            {"task_type": "CAUSAL_LM"},
            ("text-generation", "adapter_config.json task_type (CAUSAL_LM)"),
        ),
        (
            {"pipeline_tag": "question-answering", **INDEXED},
            None,
            None,
            ("question-answering", "README.md model-index"),
        ),
        ({}, {"architectures": ["FooForConditionalGeneration"]}, {"task_type": "BOGUS"}, None),
        ({"pipeline_tag": 3}, {"architectures": "LlamaForCausalLM"}, None, None),
    ],
)
def test_the_order_of_sources(
    meta: dict[str, Any],
    config: dict[str, Any] | None,
    adapter: dict[str, Any] | None,
    expected: tuple[str, str] | None,
) -> None:
    tag = read_task(config, meta, adapter, {}, ()).pipeline_tag
    assert (tag.value, tag.source) == expected if tag else expected is None


def test_an_unknown_model_states_no_modalities() -> None:
    task = read_task({"architectures": ["FooForConditionalGeneration"]}, {}, None, {}, ())
    assert task.pipeline_tag is None and task.inputs == () and task.outputs == ()


# -- processor configs -------------------------------------------------------------------------


def test_an_audio_feature_extractor_makes_the_input_audio_with_its_rate() -> None:
    task = read_task(
        WHISPER_CONFIG, {}, None, {"preprocessor_config.json": WHISPER_PREPROCESSOR}, ()
    )
    assert [(i.value, i.source) for i in task.inputs] == [
        ("audio", "preprocessor_config.json feature_extractor_type (WhisperFeatureExtractor)")
    ]
    assert [o.value for o in task.outputs] == ["text"]
    assert task.sampling_rate is not None and task.sampling_rate.value == "16000 Hz"
    assert task.processor is not None and task.processor.value == "WhisperProcessor"


def test_an_image_processor_adds_images_and_their_size() -> None:
    processors = {
        "preprocessor_config.json": {
            "image_processor_type": "CLIPImageProcessor",
            "size": {"shortest_edge": 336},
            "crop_size": {"height": 336, "width": 336},
            "image_mean": [0.5, 0.5, 0.5],
        },
        "processor_config.json": {"processor_class": "LlavaProcessor"},
    }
    config = {"architectures": ["LlavaForConditionalGeneration"]}
    task = read_task(config, {}, None, processors, ())
    assert task.pipeline_tag is not None and task.pipeline_tag.value == "image-text-to-text"
    assert [i.value for i in task.inputs] == ["image", "text"]
    assert (
        task.inputs[0].source
        == "preprocessor_config.json image_processor_type (CLIPImageProcessor)"
    )
    assert task.image_size is not None and task.image_size.value == "shortest edge 336"


def test_processor_configs_are_read_from_the_folder_and_a_broken_one_is_a_note(
    tmp_path: Path,
) -> None:
    folder = make_model(tmp_path / "whisper", config=WHISPER_CONFIG)
    write_json(folder / "preprocessor_config.json", WHISPER_PREPROCESSOR)
    (folder / "processor_config.json").write_text('{"processor_class": ', encoding="utf-8")
    facts = facts_of(folder)
    assert facts.task is not None and facts.task.sampling_rate is not None
    assert facts.task.inputs[0].value == "audio"
    assert any(n.startswith("processor_config.json:") for n in facts.notes)


# -- precision and encoder-decoder rows ---------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "text"),
    [
        ({"torch_dtype": "float16"}, "float16"),
        (
            {
                "torch_dtype": "float16",
                "quantization_config": {"quant_method": "bitsandbytes", "load_in_8bit": True},
            },
            "int8 weights (bitsandbytes), compute float16",
        ),
        (
            {
                "torch_dtype": "float16",
                "quantization_config": {
                    "quant_method": "bitsandbytes",
                    "load_in_4bit": True,
                    "bnb_4bit_quant_type": "nf4",
                    "bnb_4bit_compute_dtype": "bfloat16",
                    "bnb_4bit_use_double_quant": True,
                },
            },
            "4-bit NF4 weights (bitsandbytes, double quantization), compute bfloat16",
        ),  # fmt: skip
        (
            {"quantization_config": {"quant_method": "gptq", "bits": 4, "group_size": 128}},
            "4-bit GPTQ, group size 128",
        ),
        (
            {"quantization_config": {"quant_method": "gptq", "bits": 3, "group_size": -1}},
            "3-bit GPTQ, no grouping (group size -1)",
        ),
        (
            {"quantization_config": {"quant_method": "awq", "bits": 4, "group_size": 64}},
            "4-bit AWQ, group size 64",
        ),
        ({"quantization_config": {"quant_method": "torchao"}}, "torchao quantization"),
    ],
)
def test_precision_says_what_the_weights_are(config: dict[str, Any], text: str) -> None:
    stated = precision(config)
    assert stated is not None and stated["text"] == text


def test_no_dtype_and_no_quantization_is_no_precision() -> None:
    assert precision({}) is None and precision(None) is None


def test_encoder_decoder_rows() -> None:
    rows = encoder_decoder(WHISPER_CONFIG)
    assert rows is not None
    assert (rows["encoder_layers"], rows["decoder_layers"]) == (32, 32)
    assert (rows["encoder_attention_heads"], rows["decoder_attention_heads"]) == (20, 20)
    t5 = {"is_encoder_decoder": True, "num_layers": 6, "num_decoder_layers": 6, "num_heads": 8}
    t5_rows = encoder_decoder(t5)
    assert t5_rows is not None and t5_rows["decoder_attention_heads"] == 8
    assert encoder_decoder(llama_config()) is None


# -- Hub metadata ------------------------------------------------------------------------------


def test_library_name_and_relation_from_the_files(tmp_path: Path) -> None:
    plain = facts_of(make_model(tmp_path / "plain", config=llama_config()))
    st = make_model(tmp_path / "st", config={"architectures": ["BertModel"]})
    write_json(st / "modules.json", [{"idx": 0, "name": "0", "path": "", "type": "x"}])
    adapter = tmp_path / "adapter"
    write_json(adapter / "adapter_config.json", {"peft_type": "LORA", "task_type": "CAUSAL_LM"})
    quant = make_model(
        tmp_path / "quant",
        config=llama_config(quantization_config={"quant_method": "gptq", "bits": 4}),
    )
    names = {
        k: (library_name(f).value if library_name(f) else None)  # type: ignore[union-attr]
        for k, f in (("plain", plain), ("st", facts_of(st)), ("adapter", facts_of(adapter)))
    }
    assert names == {"plain": "transformers", "st": "sentence-transformers", "adapter": "peft"}
    assert relation_from_files(plain) is None  # a fine-tune does not say so itself
    assert relation_from_files(facts_of(adapter)).value == "adapter"  # type: ignore[union-attr]
    assert relation_from_files(facts_of(quant)).value == "quantized"  # type: ignore[union-attr]


def test_licence_other_gets_its_link_from_a_shipped_licence_file(tmp_path: Path) -> None:
    folder = make_model(tmp_path / "m", config=llama_config())
    (folder / "LICENSE.txt").write_text("terms\n", encoding="utf-8")
    facts = facts_of(folder)
    assert licence_keys("other", facts, None, False) == {"license_link": "LICENSE.txt"}
    assert licence_keys("apache-2.0", facts, None, False) == {}


def test_framework_versions_from_each_record() -> None:
    body = "## Training\n\n### Framework versions\n\n- PEFT 0.11.1\n- Transformers: 4.51.3\n\n## Next\n- Foo 1.0\n"
    found = read_frameworks(
        {"transformers_version": "4.40.0"},
        {"__version__": {"sentence_transformers": "3.0.1", "pytorch": "2.3.0"}},
        body,
    )
    assert [(f.name, f.version, f.source) for f in found] == [
        ("Transformers", "4.40.0", "config.json transformers_version"),
        ("Sentence Transformers", "3.0.1", "config_sentence_transformers.json __version__"),
        ("PyTorch", "2.3.0", "config_sentence_transformers.json __version__"),
        ("PEFT", "0.11.1", "README.md Framework versions"),
    ]


# -- the licence of known families -------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "licence"),
    [
        ("meta-llama/Llama-2-7b-hf", "llama2"),
        ("meta-llama/Meta-Llama-3-8B-Instruct", "llama3"),
        ("meta-llama/Llama-3.1-8B", "llama3.1"),
        ("unsloth/Meta-Llama-3.1-8B-bnb-4bit", "llama3.1"),
        ("meta-llama/Llama-3.2-1B", "llama3.2"),
        ("meta-llama/Llama-3.3-70B-Instruct", "llama3.3"),
        ("google/gemma-2-9b", "gemma"),
        ("Qwen/Qwen2.5-7B-Instruct", "apache-2.0"),
        ("Qwen/Qwen2.5-3B-Instruct", "qwen-research"),
        ("Qwen/Qwen2.5-72B", "qwen"),
        ("/dev/shm/Qwen/Qwen3-14B", "apache-2.0"),
        ("mistralai/Mistral-7B-v0.1", "apache-2.0"),
        ("01-ai/Yi-1.5-6B-Chat", "apache-2.0"),
        ("TinyLlama/TinyLlama-1.1B-intermediate-step-1431k-3T", "apache-2.0"),
        ("openai/whisper-large-v2", "apache-2.0"),
        ("budecosystem/genz-70b", None),
        ("mistralai/Codestral-22B-v0.1", None),  # not every mistralai model is apache-2.0
        (None, None),
    ],
)
def test_family_licence_table(name: str | None, licence: str | None) -> None:
    known = family_licence(name)
    assert (known.license if known else None) == licence
    if known:
        assert known.label.startswith(f"known licence of the {known.family} family (source: http")


def test_the_base_card_wins_over_the_family(tmp_path: Path) -> None:
    base = facts_of(
        make_model(tmp_path / "b", config=llama_config(), readme="---\nlicense: mit\n---\n")
    )
    tuned = facts_of(make_model(tmp_path / "t", config=llama_config()))
    assert base_licence(base, tuned, "meta-llama/Llama-2-7b-hf").license == "mit"
    assert base_licence(None, tuned, "meta-llama/Llama-2-7b-hf").license == "llama2"


# -- MC621 -------------------------------------------------------------------------------------


def test_a_card_tag_the_architecture_contradicts_is_flagged(tmp_path: Path) -> None:
    wrong = make_model(
        tmp_path / "w",
        config=WHISPER_CONFIG,
        readme="---\npipeline_tag: text2text-generation\n---\n",
    )
    (finding,) = task_findings(facts_of(wrong))
    assert finding.rule == "MC621" and "automatic-speech-recognition" in finding.message
    refined = make_model(
        tmp_path / "t5",
        config={"architectures": ["T5ForConditionalGeneration"]},
        readme="---\npipeline_tag: translation\n---\n",
    )
    assert task_findings(facts_of(refined)) == []


# -- a build, end to end -----------------------------------------------------------------------


def offline(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "hf-home"
    home.mkdir(exist_ok=True)
    return {"HF_HOME": str(home), "HF_HUB_CACHE": str(home / "hub"), "HF_HUB_OFFLINE": "1"}


def built(project: Path, tmp_path: Path) -> None:
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "as published")
    env = offline(tmp_path)
    assert run_modelcards("init", cwd=project, env=env).returncode == 0
    done = run_modelcards("build", "--no-site", cwd=project, env=env)
    assert done.returncode == 0, done.stderr


def test_an_int8_model_card_states_its_quantization(tmp_path: Path) -> None:
    project = tmp_path / "int8"
    make_model(
        project,
        config=llama_config(
            torch_dtype="float16",
            quantization_config={"quant_method": "bitsandbytes", "load_in_8bit": True},
        ),
    )
    built(project, tmp_path)
    card = (project / "README.md").read_text()
    assert "| Precision | int8 weights (bitsandbytes), compute float16" in card
    assert "| Precision | float16" not in card


# -- the real cases ----------------------------------------------------------------------------

needs_cases = pytest.mark.skipif(
    not REALCASES.is_dir(), reason="../shared/realcases is not present beside this checkout"
)

# model folder -> (pipeline_tag, where it was read); every model folder of every case
EXPECTED_TASKS = {
    "all-minilm-l6-v2-pypi": ("sentence-similarity", "config.json architectures (BertModel) with modules.json"),
    "axolotl-tinyllama-lora-out/outputs/lora-out": ("text-generation", "adapter_config.json task_type (CAUSAL_LM)"),
    "axolotl-tinyllama-lora-out/outputs/lora-out/checkpoint-20": ("text-generation", "adapter_config.json task_type (CAUSAL_LM)"),
    "dialogpt-small": ("text-generation", "config.json architectures (GPT2LMHeadModel)"),
    "dolly-v1-6b": ("text-generation", "config.json architectures (GPTJForCausalLM)"),
    "gptq-genz-70b-multibranch": ("text-generation", "config.json architectures (LlamaForCausalLM)"),
    "hf-trainer-whisper-large-v2-ja": ("automatic-speech-recognition", "config.json architectures (WhisperForConditionalGeneration)"),
    "history-llama2-7b-hf-base": ("text-generation", "config.json architectures (LlamaForCausalLM)"),
    "llamafactory-qwen3-14b-lora": ("text-generation", "adapter_config.json task_type (CAUSAL_LM)"),
    "mergekit-yi15-6b-slerp": ("text-generation", "config.json architectures (LlamaForCausalLM)"),
    "partial-shards-pygmalion-7b": ("text-generation", "config.json architectures (LlamaForCausalLM)"),
    "peft-lora-yandexgpt5-lite-8b": ("text-generation", "adapter_config.json task_type (CAUSAL_LM)"),
    "roberta-base-legacy": None,  # a config.json without architectures: no task stated
    "roberta-base-squad2": ("question-answering", "config.json architectures (RobertaForQuestionAnswering)"),
    "st-movie-minilm-l6-v2-mnrl/movie_query_engine/data/sbert-finetuned-movie-model": ("sentence-similarity", "config.json architectures (BertModel) with modules.json"),
    "st-movie-minilm-l6-v2-mnrl/base": ("sentence-similarity", "config.json architectures (BertModel) with modules.json"),
    "tinyllama-1.1b-chat-base": ("text-generation", "config.json architectures (LlamaForCausalLM)"),
    "tinyllama-lora-structured-output": ("text-generation", "adapter_config.json task_type (CAUSAL_LM)"),
    "unsloth-llama31-8b-ros2-lora/ros2_model": ("text-generation", "adapter_config.json task_type (CAUSAL_LM)"),
    "yarn-mistral-7b-128k": ("text-generation", "config.json architectures (MistralForCausalLM)"),
}  # fmt: skip


@needs_cases
@pytest.mark.parametrize("folder", sorted(EXPECTED_TASKS))
def test_each_real_case_states_the_task_its_files_support(folder: str) -> None:
    path = REALCASES / folder
    if not path.is_dir():
        pytest.skip(f"{folder} is not among the real cases here")
    facts = inspect_snapshot(open_folder(path, project_root=path.parent))
    tag = facts.task.pipeline_tag  # type: ignore[union-attr]
    assert ((tag.value, tag.source) if tag else None) == EXPECTED_TASKS[folder]
    assert task_findings(facts) == []  # no real card's tag contradicts its architecture


def built_case(case: str, tmp_path: Path) -> Path:
    if not (REALCASES / case).is_dir():
        pytest.skip(f"{case} is not among the real cases here")
    import shutil

    project = tmp_path / case
    shutil.copytree(REALCASES / case, project)
    for path in [project, *project.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o200)
    built(project, tmp_path)
    return project


def context_and_meta(folder: Path) -> tuple[dict[str, Any], dict[str, Any], str]:
    card = (folder / "README.md").read_text(encoding="utf-8")
    return json.loads((folder / "card.json").read_text()), front_matter(card), card


@needs_cases
def test_real_whisper_is_speech_recognition_audio_in_text_out(tmp_path: Path) -> None:
    project = built_case("hf-trainer-whisper-large-v2-ja", tmp_path)
    context, meta, card = context_and_meta(project)
    assert meta["pipeline_tag"] == "automatic-speech-recognition"
    assert meta["library_name"] == "transformers"
    task = context["task"]
    assert [i["value"] for i in task["inputs"]] == ["audio"]
    assert [o["value"] for o in task["outputs"]] == ["text"]
    assert task["sampling_rate"] == {
        "value": "16000 Hz",
        "source": "preprocessor_config.json sampling_rate",
    }
    assert "| Layers (encoder / decoder) | 32 / 32 |" in card
    assert "| Attention heads (encoder / decoder) | 20 / 20 |" in card
    assert "| Positions (encoder / decoder) | 1,500 / 448 |" in card  # max_source/target_positions
    # its README states apache-2.0, as the base's family does: the card says both, not "inherited"
    assert "| Licence | `apache-2.0` (stated for this model; the base model's licence too" in card
    assert "| Hidden size | 1,280 |" in card
    assert {"name": "Transformers", "version": "4.26.0.dev0", "source": "config.json transformers_version"} in context["frameworks"]  # fmt: skip
    modality = next(i for i in eu_ai_act_items(context, "") if i["key"] == "modality")
    assert modality["status"] == "evidenced"
    assert not any("input text" in e for e in modality["evidence"])
    assert any(
        e.startswith("input audio from preprocessor_config.json") for e in modality["evidence"]
    )


@needs_cases
def test_real_sentence_transformers_fine_tune(tmp_path: Path) -> None:
    project = built_case("st-movie-minilm-l6-v2-mnrl", tmp_path)
    folder = project / "movie_query_engine/data/sbert-finetuned-movie-model"
    context, meta, _ = context_and_meta(folder)
    assert meta["library_name"] == "sentence-transformers"
    assert meta["pipeline_tag"] == "sentence-similarity"
    versions = {f["name"]: f["version"] for f in context["frameworks"]}
    assert versions["Sentence Transformers"] == "4.1.0" and versions["Transformers"] == "4.51.3"


@needs_cases
def test_real_gptq_states_bits_and_group_size(tmp_path: Path) -> None:
    project = built_case("gptq-genz-70b-multibranch", tmp_path)
    context, meta, card = context_and_meta(project)
    assert context["architecture"]["precision"]["text"].startswith("4-bit GPTQ, group size 128")
    assert "| Precision | 4-bit GPTQ, group size 128" in card
    assert meta["base_model_relation"] == "quantized"
    assert "| Relation to base | quantized (as the model's own files say; not compared" in card
    branch, _, _ = context_and_meta(project / "branches/gptq-3bit--1g-actorder_True")
    assert branch["architecture"]["precision"]["text"].startswith("3-bit GPTQ, no grouping")


@needs_cases
def test_real_unsloth_licence_is_flagged_against_the_llama31_family(tmp_path: Path) -> None:
    project = built_case("unsloth-llama31-8b-ros2-lora", tmp_path)
    context, meta, card = context_and_meta(project / "ros2_model")
    assert meta["license"] == "apache-2.0"  # the author's, kept
    assert context["license"]["base"] == "llama3.1"
    assert context["license"]["base_source"].startswith("known licence of the Llama 3.1 family")
    flagged = [r for r in context["risks"] if r["rule"] in ("MC502", "MC503")]
    assert [r["rule"] for r in flagged] == ["MC503"]
    assert flagged[0]["evidence"]["base_license_source"].startswith(
        "known licence of the Llama 3.1"
    )
    assert "the base's licence is `llama3.1`" in card


@needs_cases
def test_real_roberta_squad2_is_question_answering(tmp_path: Path) -> None:
    project = built_case("roberta-base-squad2", tmp_path)
    context, meta, _ = context_and_meta(project)
    assert meta["pipeline_tag"] == "question-answering"
    assert context["task"]["pipeline_tag"]["source"] == (
        "config.json architectures (RobertaForQuestionAnswering)"
    )
    assert not [r for r in context["risks"] if r["rule"] == "MC621"]


def test_an_inherited_other_licence_takes_the_base_cards_name_and_link(tmp_path: Path) -> None:
    base = facts_of(
        make_model(
            tmp_path / "b",
            config=llama_config(),
            readme="---\nlicense: other\nlicense_name: llama3\nlicense_link: LICENSE\n---\n",
        )
    )
    tuned = facts_of(make_model(tmp_path / "t", config=llama_config()))
    assert licence_keys("other", tuned, base, True) == {
        "license_name": "llama3",
        "license_link": "LICENSE",
    }
    assert licence_keys("other", tuned, base, False) == {}  # its own `other`: not the base's


def test_an_adapter_without_a_licence_inherits_its_base_familys_with_the_source(
    tmp_path: Path,
) -> None:
    project = tmp_path / "lora"
    write_json(
        project / "adapter_config.json",
        {"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": 8, "lora_alpha": 16,
         "base_model_name_or_path": "meta-llama/Llama-3.1-8B"},
    )  # fmt: skip
    built(project, tmp_path)
    context, meta, card = context_and_meta(project)
    assert meta["license"] == "llama3.1" and context["license"]["inherited"] is True
    assert "known licence of the Llama 3.1 family (source: https://github.com/meta-llama" in card
    assert "| Adapter | LORA, r=8, alpha=16, targets — |" in card  # no target_modules: no crash
    assert {r["rule"] for r in context["risks"]} >= {"MC504"}
    assert not {r["rule"] for r in context["risks"]} & {"MC501", "MC502", "MC503"}


@needs_cases
def test_real_llamafactory_default_other_is_flagged_against_qwen3(tmp_path: Path) -> None:
    project = built_case("llamafactory-qwen3-14b-lora", tmp_path)
    context, meta, _ = context_and_meta(project)
    assert meta["license"] == "other"  # the author's (LLaMA-Factory's default), kept
    (changed,) = [r for r in context["risks"] if r["rule"] == "MC502"]
    assert changed["evidence"]["base_license"] == "apache-2.0"
    assert changed["evidence"]["base_license_source"].startswith("known licence of the Qwen3")


def test_an_adapters_precision_names_its_bases_config() -> None:
    q = {"quant_method": "bitsandbytes", "load_in_4bit": True, "bnb_4bit_quant_type": "nf4"}
    stated = precision(
        {"torch_dtype": "bfloat16", "quantization_config": q}, where="base config.json"
    )
    assert stated == {
        "text": "4-bit NF4 weights (bitsandbytes), compute bfloat16",
        "source": "base config.json quantization_config",
    }
