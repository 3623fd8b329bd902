"""What really changed, and what the files contradict (issue #16, part C): added tokens by id,
serializer noise told from real change, sentence-transformers modules, chat-template behaviour
read without rendering, and claims about the base that the files do not support."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from modelcards.assess.claim_rules import claim_findings, same_family
from modelcards.compare import compare
from modelcards.inspect import inspect_snapshot
from modelcards.inspect.chat_template import analyse_template
from modelcards.inspect.token_roles import format_kind, is_placeholder
from modelcards.resolve import resolve_reference
from modelfiles import REALCASES, llama_config, llama_tensors, make_model, write_json

UNSLOTH = REALCASES / "unsloth-llama31-8b-ros2-lora" / "ros2_model"
ST_CASE = REALCASES / "st-movie-minilm-l6-v2-mnrl"
ST_TUNED = ST_CASE / "movie_query_engine" / "data" / "sbert-finetuned-movie-model"
MERGEKIT = REALCASES / "mergekit-yi15-6b-slerp"
YANDEX = REALCASES / "peft-lora-yandexgpt5-lite-8b"
GPTQ = REALCASES / "gptq-genz-70b-multibranch"
needs = pytest.mark.skipif


def facts(folder: Path):
    return inspect_snapshot(resolve_reference(str(folder), project_root=folder.parent))


def diff_of(base: Path, tuned: Path):
    return compare(facts(base), facts(tuned))


def keyed(diff):
    return {c.key: c for c in diff.changes}


# -- added tokens, id by id ---------------------------------------------------------------------


def llama3_decoder() -> dict[str, dict]:
    """Llama 3.0's added tokens: reserved placeholders numbered around the named ones."""
    named = {128000: "<|begin_of_text|>", 128001: "<|end_of_text|>",
             128006: "<|start_header_id|>", 128007: "<|end_header_id|>", 128009: "<|eot_id|>"}  # fmt: skip
    decoder, n = {}, 0
    for i in range(128000, 128256):
        if i in named:
            decoder[str(i)] = {"content": named[i], "special": True}
        else:
            decoder[str(i)] = {"content": f"<|reserved_special_token_{n}|>", "special": True}
            n += 1
    return decoder


def llama31_decoder() -> dict[str, dict]:
    """Llama 3.1's: the same ids, three placeholders given names, the rest renumbered."""
    decoder = llama3_decoder()
    given = {128004: "<|finetune_right_pad_id|>", 128008: "<|eom_id|>", 128010: "<|python_tag|>"}
    n = 0
    for i in range(128000, 128256):
        content = decoder[str(i)]["content"]
        if i in given:
            decoder[str(i)] = {"content": given[i], "special": True}
        elif content.startswith("<|reserved"):
            decoder[str(i)] = {"content": f"<|reserved_special_token_{n}|>", "special": True}
            n += 1
    return decoder


def write_pair(
    tmp_path: Path, base_tok: dict, tuned_tok: dict, vocab: int = 128256
) -> tuple[Path, Path]:
    config = llama_config(vocab_size=vocab)
    base = make_model(tmp_path / "base", config=config, tokenizer=base_tok)
    tuned = make_model(tmp_path / "tuned", config=config, tokenizer=tuned_tok)
    return base, tuned


def test_renamed_reserved_placeholders_are_not_new_ids(tmp_path: Path) -> None:
    base, tuned = write_pair(
        tmp_path,
        {"added_tokens_decoder": llama3_decoder()},
        {"added_tokens_decoder": llama31_decoder()},
    )
    changes = keyed(diff_of(base, tuned))
    assert "added_tokens.ids" not in changes  # the old report: "246 added tokens have new ids"
    assert "added_tokens" not in changes  # no id appeared or vanished
    named = changes["added_tokens.renamed"]
    assert named.significant and "embeddings still line up" in named.meaning
    assert named.after == {128004: "<|finetune_right_pad_id|>", 128008: "<|eom_id|>",
                           128010: "<|python_tag|>"}  # fmt: skip
    placeholders = changes["added_tokens.placeholders"]
    assert not placeholders.significant and len(placeholders.after) == 246
    assert "every id and embedding row is intact" in placeholders.meaning


@needs(not UNSLOTH.is_dir(), reason="../shared/realcases/unsloth-llama31-8b-ros2-lora is absent")
def test_real_llama31_tokenizer_against_llama3_naming(tmp_path: Path) -> None:
    """The real Llama 3.1 tokenizer_config.json (via Unsloth) against the same ids in 3.0 names."""
    real = json.loads((UNSLOTH / "tokenizer_config.json").read_text())
    assert {k: v["content"] for k, v in real["added_tokens_decoder"].items()} == {
        k: v["content"] for k, v in llama31_decoder().items()
    }
    base_tok = dict(real, added_tokens_decoder=llama3_decoder())
    base, tuned = write_pair(tmp_path, base_tok, real)
    shutil.copy(UNSLOTH / "tokenizer_config.json", tuned / "tokenizer_config.json")
    changes = keyed(diff_of(base, tuned))
    assert "added_tokens.ids" not in changes and "added_tokens" not in changes
    assert len(changes["added_tokens.placeholders"].after) == 246
    assert set(changes["added_tokens.renamed"].after) == {128004, 128008, 128010}
    tok = facts(tuned).tokenizer
    assert tok is not None
    kinds = {t.content: format_kind(t.content) for t in tok.added_tokens if format_kind(t.content)}
    assert kinds == {"<|start_header_id|>": "turn", "<|end_header_id|>": "turn",
                     "<|eom_id|>": "turn", "<|eot_id|>": "turn", "<|python_tag|>": "tool-call"}  # fmt: skip


def test_a_token_moved_to_another_id_is_embedding_relevant(tmp_path: Path) -> None:
    base, tuned = write_pair(
        tmp_path,
        {
            "added_tokens_decoder": {
                "38": {"content": "<|im_start|>"},
                "39": {"content": "<|im_end|>"},
            }
        },
        {
            "added_tokens_decoder": {
                "38": {"content": "<|im_end|>"},
                "39": {"content": "<|im_start|>"},
            }
        },
        vocab=40,
    )
    changes = keyed(diff_of(base, tuned))
    moved = changes["added_tokens.ids"]
    assert moved.significant and "embeddings no longer line up" in moved.meaning
    assert moved.before == {"<|im_end|>": 39, "<|im_start|>": 38}
    assert "added_tokens.renamed" not in changes  # the swap is said once, as a move


def test_new_ids_past_the_vocabulary_and_ids_it_already_has(tmp_path: Path) -> None:
    base, tuned = write_pair(
        tmp_path,
        {"bos_token": "<s>"},
        {"added_tokens_decoder": {"0": {"content": "<unk>"}, "40": {"content": "<think>"}}},
        vocab=40,
    )
    changes = keyed(diff_of(base, tuned))
    assert changes["added_tokens"].after == ["40: <think>"] and changes["added_tokens"].significant
    listed = changes["added_tokens.listed"]
    assert not listed.significant and listed.after == ["0: <unk>"]
    # without the base's vocab_size, no claim about embedding rows
    make_model(tmp_path / "unsized", config={"model_type": "llama"}, tokenizer={"bos_token": "<s>"})
    unsized = keyed(diff_of(tmp_path / "unsized", tuned))["added_tokens"]
    assert (
        "vocab_size is not known" in unsized.meaning and "new embedding rows" not in unsized.meaning
    )


def test_older_tokenizer_config_falls_back_to_tokenizer_json(tmp_path: Path) -> None:
    base, tuned = write_pair(
        tmp_path, {"bos_token": "<s>"},
        {"added_tokens_decoder": {"0": {"content": "<unk>"}, "39": {"content": "<pad>"}}}, vocab=40,
    )  # fmt: skip
    write_json(base / "tokenizer.json", {"added_tokens": [{"id": 0, "content": "<unk>"},
                                                          {"id": 39, "content": "<sep>"}]})  # fmt: skip
    changes = keyed(diff_of(base, tuned))
    assert changes["added_tokens.renamed"].after == {39: "<pad>"}
    assert "added_tokens.listed" not in changes
    (base / "tokenizer.json").write_text("[1, 2")  # unreadable: a note, and nothing from it
    model = facts(base)
    assert model.tokenizer is not None and model.tokenizer.added_tokens == ()
    assert any(n.startswith("tokenizer.json:") for n in model.notes)


def test_token_roles_by_general_patterns() -> None:
    for token, kind in [("<think>", "thinking"), ("</thinking>", "thinking"),
                        ("<tool_call>", "tool-call"), ("</tool_response>", "tool-call"),
                        ("<|python_tag|>", "tool-call"), ("<|eot_id|>", "turn"),
                        ("<|im_start|>", "turn"), ("<end_of_turn>", "turn"), ("[INST]", "turn"),
                        ("<s>", None), ("<|begin_of_text|>", None), ("[CLS]", None),
                        ("<|reserved_special_token_7|>", None), ("hello", None)]:  # fmt: skip
        assert format_kind(token) == kind, token
    assert is_placeholder("<|reserved_special_token_250|>") and is_placeholder("[unused3]")
    assert is_placeholder("<extra_id_9>") and not is_placeholder("<|eom_id|>")


# -- serializer noise and real change -------------------------------------------------------


def test_noise_judged_with_the_model_type_and_the_base_weights(tmp_path: Path) -> None:
    tensors = {k: v.astype(np.float16) for k, v in llama_tensors().items()}
    tensors["model.embed_tokens.position_ids"] = np.arange(128, dtype=np.int64)[None]
    base_config = llama_config()
    del base_config["torch_dtype"]
    make_model(tmp_path / "base", config=base_config, tensors=tensors)
    tuned_tensors = {k: v for k, v in tensors.items() if not k.endswith("position_ids")}
    make_model(tmp_path / "tuned", config=llama_config(torch_dtype="float16",
               tie_word_embeddings=False), tensors=tuned_tensors)  # fmt: skip
    diff = diff_of(tmp_path / "base", tmp_path / "tuned")
    changes = keyed(diff)
    assert (
        not changes["dtype"].significant and "F16 in model.safetensors" in changes["dtype"].meaning
    )
    assert not changes["tie_word_embeddings"].significant  # LlamaConfig's default is False
    assert "tensors.removed" not in changes and "parameters" not in changes
    assert not changes["tensors.buffers"].significant
    assert diff.weights.base_params == diff.weights.tuned_params
    # a value that is not the default, and a dtype the base's weights are not, are real changes
    make_model(tmp_path / "other", config=llama_config(torch_dtype="bfloat16",
               tie_word_embeddings=True), tensors=tuned_tensors)  # fmt: skip
    changes = keyed(diff_of(tmp_path / "base", tmp_path / "other"))
    assert changes["dtype"].significant and changes["tie_word_embeddings"].significant


def test_unknown_model_type_tie_is_not_assumed_default(tmp_path: Path) -> None:
    make_model(tmp_path / "base", config=llama_config(model_type="novel"))
    make_model(
        tmp_path / "tuned", config=llama_config(model_type="novel", tie_word_embeddings=True)
    )
    assert keyed(diff_of(tmp_path / "base", tmp_path / "tuned"))["tie_word_embeddings"].significant


def test_an_adapter_without_tokenizer_files_removes_none(tmp_path: Path) -> None:
    make_model(tmp_path / "base", config=llama_config(), tokenizer={"bos_token": "<s>"})
    write_json(tmp_path / "tuned" / "adapter_config.json",
               {"peft_type": "LORA", "r": 8, "target_modules": ["q_proj"]})  # fmt: skip
    assert not [c for c in diff_of(tmp_path / "base", tmp_path / "tuned").changes
                if c.area == "tokenizer"]  # fmt: skip


def sentence_model(folder: Path, *, pooling: dict, modules: list[str], seq: int = 256) -> Path:
    make_model(folder, config={"architectures": ["BertModel"], "model_type": "bert",
                               "hidden_size": 8, "vocab_size": 30})  # fmt: skip
    paths = {"Transformer": "", "Pooling": "1_Pooling", "Normalize": "2_Normalize"}
    write_json(folder / "modules.json", [
        {"idx": i, "name": str(i), "path": paths[m], "type": f"sentence_transformers.models.{m}"}
        for i, m in enumerate(modules)
    ])  # fmt: skip
    write_json(folder / "1_Pooling" / "config.json", {"word_embedding_dimension": 8, **pooling})
    write_json(
        folder / "sentence_bert_config.json", {"max_seq_length": seq, "do_lower_case": False}
    )
    return folder


def test_sentence_transformers_compared_module_by_module(tmp_path: Path) -> None:
    mean = {"pooling_mode_mean_tokens": True, "pooling_mode_cls_token": False}
    base = sentence_model(tmp_path / "base", pooling=mean,
                          modules=["Transformer", "Pooling", "Normalize"])  # fmt: skip
    explicit = dict(mean, pooling_mode_lasttoken=False, include_prompt=True)
    same = sentence_model(tmp_path / "same", pooling=explicit,
                          modules=["Transformer", "Pooling", "Normalize"])  # fmt: skip
    assert not diff_of(base, same).significant  # defaults written out
    cls = {"pooling_mode_mean_tokens": False, "pooling_mode_cls_token": True}
    tuned = sentence_model(tmp_path / "tuned", pooling=cls, modules=["Transformer", "Pooling"],
                           seq=128)  # fmt: skip
    changes = keyed(diff_of(base, tuned))
    assert changes["modules"].significant and "no longer normalised" in changes["modules"].meaning
    assert changes["pooling_mode"].before == "mean_tokens"
    assert changes["pooling_mode"].after == "cls_token"
    assert changes["max_seq_length"].significant and changes["max_seq_length"].area == "context"


def test_sentence_transformers_model_turned_classifier(tmp_path: Path) -> None:
    base = sentence_model(tmp_path / "base", pooling={}, modules=["Transformer", "Pooling"])
    make_model(tmp_path / "tuned", config={"architectures": ["BertForSequenceClassification"],
                                           "model_type": "bert", "hidden_size": 8, "vocab_size": 30})  # fmt: skip
    change = keyed(diff_of(base, tmp_path / "tuned"))["modules"]
    assert change.significant and "plain transformers classifier" in change.meaning


def test_encoder_decoder_shape_and_gptq_settings_are_significant(tmp_path: Path) -> None:
    shape = {"model_type": "whisper", "encoder_layers": 32, "decoder_layers": 32,
             "encoder_attention_heads": 20, "max_target_positions": 448}  # fmt: skip
    make_model(tmp_path / "base", config=shape)
    write_json(tmp_path / "base" / "quantize_config.json", {"bits": 4, "group_size": 128})
    make_model(tmp_path / "tuned", config=dict(shape, decoder_layers=2, max_target_positions=224))
    write_json(tmp_path / "tuned" / "quantize_config.json", {"bits": 3, "group_size": -1})
    changes = keyed(diff_of(tmp_path / "base", tmp_path / "tuned"))
    for key in ("decoder_layers", "max_target_positions"):
        assert changes[key].significant and changes[key].area == "architecture"
    assert changes["decoder_layers"].meaning == "decoder layers 32 → 2"
    for key in ("bits", "group_size"):
        assert changes[key].significant and changes[key].area == "quantization"
        assert changes[key].file == "quantize_config.json"


def test_unreadable_module_configs_are_notes_not_failures(tmp_path: Path) -> None:
    folder = make_model(tmp_path / "m", config={"model_type": "bert"})
    (folder / "modules.json").write_text('{"not": "a list"}')
    (folder / "quantize_config.json").write_text("{broken")
    model = facts(folder)
    assert model.module_configs == {}
    assert any(n.startswith("modules.json: not a list") for n in model.notes)
    assert any(n.startswith("quantize_config.json:") for n in model.notes)


@needs(not GPTQ.is_dir(), reason="../shared/realcases/gptq-genz-70b-multibranch is absent")
def test_real_gptq_branch_against_main() -> None:
    changes = diff_of(GPTQ, GPTQ / "branches" / "gptq-3bit--1g-actorder_True").changes
    found = {(c.file, c.key): c for c in changes if c.area == "quantization"}
    bits = found[("config.json", "quantization_config.bits")]
    assert bits.significant and (bits.before, bits.after) == (4, 3)
    group = found[("config.json", "quantization_config.group_size")]
    assert group.significant and (group.before, group.after) == (128, -1)
    echo = found[("quantize_config.json", "bits")]  # the same fact in the branch's other file
    assert not echo.significant and "also in config.json" in echo.meaning


@needs(not ST_CASE.is_dir(), reason="../shared/realcases/st-movie-minilm-l6-v2-mnrl is absent")
def test_real_sentence_transformers_fine_tune_against_its_base() -> None:
    diff = diff_of(ST_CASE / "base", ST_TUNED)
    significant = {(c.file, c.key) for c in diff.significant}
    assert significant == {("tokenizer_config.json", "model_max_length"),
                           ("tokenizer_config.json", "settings.max_length")}  # fmt: skip
    changes = keyed(diff)
    assert changes["model_max_length"].before == 512 and changes["model_max_length"].after == 256
    assert changes["settings.max_length"].after == 128
    for key in ("pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken", "include_prompt",
                "similarity_fn_name", "prompts", "transformers_version", "dtype"):  # fmt: skip
        assert key in changes and not changes[key].significant, key
    assert not [c for c in diff.changes if c.key in ("vocab_size", "modules", "pooling_mode")]
    # the base's tokenizer_config.json has no added_tokens_decoder: its tokenizer.json's
    # added_tokens say [PAD], [UNK], ... sit at the same ids the fine-tune lists
    assert not [c for c in diff.changes if c.key.startswith("added_tokens")]
    base_tok = facts(ST_CASE / "base").tokenizer
    assert base_tok is not None and base_tok.added_tokens[0].content == "[PAD]"


# -- chat template behaviour, never rendered --------------------------------------------------

QWEN_LIKE = (
    "{%- if messages[0]['role'] == 'system' %}{{- '<|im_start|>system\\n' + messages[0]['content']"
    " + '<|im_end|>\\n' }}{%- else %}{{- '<|im_start|>system\\nYou are Qwen, created by Alibaba "
    "Cloud. You are a helpful assistant.<|im_end|>\\n' }}{%- endif %}"
    "{%- if tools %}{{- '<tool_call>' }}{%- endif %}"
    "{%- for message in messages %}{%- if message.role == 'user' %}{{- '<|im_start|>user\\n' + "
    "message.content + ' /no_think<|im_end|>\\n' }}{%- elif message.role == 'assistant' %}"
    "{%- set content = message.content.split('</think>')[-1] %}{{- '<|im_start|>assistant\\n' + "
    "content }}{%- endif %}{%- endfor %}{{ raise_exception('would stop a renderer') }}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)


def test_template_behaviour_read_from_the_source() -> None:
    behaviour = analyse_template(QWEN_LIKE)  # rendering it would raise: it is only parsed
    assert behaviour.default_system_prompt == (
        "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.",
    )
    assert behaviour.user_turn_text == ("/no_think",)
    assert behaviour.uses_tools and behaviour.tool_tokens == ("<tool_call>",)
    assert behaviour.generation_prompt == "<|im_start|>assistant\n"
    assert "strips thinking blocks from earlier assistant turns" in behaviour.thinking
    assert analyse_template("{% if x %}").problem  # unparseable: said, never raised


def test_markup_and_role_headers_are_not_text_added_to_turns() -> None:
    llama2 = ("{% for m in messages %}{% if m['role'] == 'user' %}{{ bos_token + '[INST] <<SYS>>' + "
              "m['content'] + ' [/INST]' }}{% elif m['role'] == 'system' %}{{ '### System:\\n' + "
              "m['content'] }}{% endif %}{% endfor %}")  # fmt: skip
    behaviour = analyse_template(llama2)
    assert behaviour.user_turn_text == () and not behaviour.system_raw
    assert behaviour.summary() == []


def test_default_system_prompt_is_a_finding_and_in_the_change(tmp_path: Path) -> None:
    base, tuned = write_pair(tmp_path, {"bos_token": "<s>"}, {"chat_template": QWEN_LIKE}, vocab=40)
    change = keyed(diff_of(base, tuned))["chat_template"]
    assert "injects a default system prompt" in change.meaning and "/no_think" in change.meaning
    found = [f for f in claim_findings(facts(tuned), facts(base), configured_id=None)
             if f.rule == "MC622"]  # fmt: skip
    assert len(found) == 1 and "You are Qwen" in found[0].message
    assert found[0].file == "tokenizer_config.json"
    plain = "{% for m in messages %}{{ m.content }}{% endfor %}"
    make_model(tmp_path / "plain", config=llama_config(), tokenizer={"chat_template": plain})
    assert not [f for f in claim_findings(facts(tmp_path / "plain"), None, configured_id=None)
                if f.rule == "MC622"]  # fmt: skip


@needs(not MERGEKIT.is_dir(), reason="../shared/realcases/mergekit-yi15-6b-slerp is absent")
def test_real_mergekit_template_and_eos_mismatch() -> None:
    tuned = facts(MERGEKIT)
    assert tuned.tokenizer is not None
    behaviour = analyse_template(tuned.tokenizer.chat_templates["default"])
    assert behaviour.system_raw and behaviour.generation_prompt_always
    assert not behaviour.default_system_prompt
    (eos,) = [f for f in claim_findings(tuned, None, configured_id=None) if f.rule == "MC623"]
    assert eos.evidence["tokenizer_eos_id"] == 7 and eos.evidence["config_eos_token_id"] == [2]
    assert "<|im_end|>" in eos.message


@needs(not YANDEX.is_dir(), reason="../shared/realcases/peft-lora-yandexgpt5-lite-8b is absent")
def test_real_yandex_template_formats_tool_calls() -> None:
    tok = facts(YANDEX).tokenizer
    assert tok is not None
    behaviour = analyse_template(tok.chat_templates["default"])
    assert behaviour.uses_tools and "[TOOL_CALL_START]" in behaviour.tool_tokens
    assert not behaviour.default_system_prompt


# -- claims the files contradict ----------------------------------------------------------------


def test_model_families() -> None:
    assert same_family("meta-llama/Llama-3.1-8B", "meta-llama/Meta-Llama-3-8B") is False
    assert same_family("meta-llama/Llama-2-7b-hf", "meta-llama/Llama-2-13b-hf") is True
    assert same_family("meta-llama/Meta-Llama-3.1-8B", "meta-llama/Llama-3.1-8B") is True
    assert same_family("unsloth/Meta-Llama-3.1-8B-bnb-4bit", "meta-llama/Llama-3.1-8B") is True
    assert same_family("pygmalion-7b", "meta-llama/Llama-2-7b-hf") is None  # a folder's name


def test_name_or_path_of_another_family_is_a_finding(tmp_path: Path) -> None:
    make_model(tmp_path / "base", config=llama_config(_name_or_path="meta-llama/Llama-3.1-8B"))
    make_model(tmp_path / "tuned", config=llama_config(_name_or_path="meta-llama/Meta-Llama-3-8B"))
    base, tuned = facts(tmp_path / "base"), facts(tmp_path / "tuned")
    (found,) = [f for f in claim_findings(tuned, base, configured_id=None) if f.rule == "MC624"]
    assert found.evidence["tuned_name_or_path"] == "meta-llama/Meta-Llama-3-8B"
    assert "meta-llama/Llama-3.1-8B" in found.message
    change = keyed(compare(base, tuned))["_name_or_path"]  # no longer just "library noise"
    assert "another model family" in change.meaning and not change.significant
    for same in ("meta-llama/Llama-3.1-70B", "llama31-run-3"):  # a size suffix; a folder name
        make_model(tmp_path / same, config=llama_config(_name_or_path=same))
        assert not [f for f in claim_findings(facts(tmp_path / same), base, configured_id=None)
                    if f.rule == "MC624"]  # fmt: skip


def test_readme_naming_another_base_is_a_finding(tmp_path: Path) -> None:
    readme = ("# x\n\nThis model is a fine-tuned version of [Qwen/Qwen2.5-7B]"
              "(https://huggingface.co/Qwen/Qwen2.5-7B) on an unknown dataset.\n")  # fmt: skip
    make_model(tmp_path / "tuned", config=llama_config(_name_or_path="meta-llama/Llama-3.1-8B"),
               readme=readme)  # fmt: skip
    found = [f for f in claim_findings(facts(tmp_path / "tuned"), None,
                                       configured_id="meta-llama/Llama-3.1-8B") if f.rule == "MC625"]  # fmt: skip
    assert len(found) == 1 and "Qwen/Qwen2.5-7B" in found[0].message
    assert found[0].evidence["readme"].startswith("fine-tuned version of")
    agreeing = readme.replace("Qwen/Qwen2.5-7B", "meta-llama/Llama-3.1-8B")
    (tmp_path / "tuned" / "README.md").write_text(agreeing)
    assert not [f for f in claim_findings(facts(tmp_path / "tuned"), None,
                configured_id="meta-llama/Llama-3.1-8B") if f.rule == "MC625"]  # fmt: skip
