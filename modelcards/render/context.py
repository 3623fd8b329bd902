"""The one context object every template reads, also written as `card.json` (versioned schema).

Built from typed values only; every entry can be traced to a file, a key or a commit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from modelcards import __version__
from modelcards.assess import Assessment
from modelcards.assess.licence_family import base_licence
from modelcards.compare.deep import DeepDiff
from modelcards.compare.deep.merge_check import SourceCheck
from modelcards.compare.model import Change, ModelDiff, source_json
from modelcards.history import History
from modelcards.history.provenance import Provenance
from modelcards.inspect.facts import ModelFacts, TrainingRecord
from modelcards.inspect.gguf_facts import shared_facts
from modelcards.render.compute_context import compute_json
from modelcards.render.coverage import coverage
from modelcards.render.escape import cut
from modelcards.render.eu_form import model_documentation
from modelcards.render.evaluation_context import (
    evaluation_rows,
    evaluation_summary,
    model_index,
    result_number,
    training_totals,
)
from modelcards.render.gguf_context import gguf_architecture, gguf_json
from modelcards.render.hub_metadata import (
    library_name,
    licence_keys,
    relation_from_files,
    task_of,
)
from modelcards.render.origin_context import base_check_json, deep_json
from modelcards.render.precision import encoder_decoder, precision
from modelcards.render.recipe_context import has_recipe, recipe_context
from modelcards.render.subject import CardSubject
from modelcards.render.tokenizer_view import tokenizer_behaviour
from modelcards.render.training_content import training_content

SCHEMA_VERSION = "1.3"  # 1.1: coverage; 1.2: EU documents, base_check, deep similarity and ΔW
# rank; 1.3: merge_sources (each source of a mergekit merge checked against its weights),
# gguf (the GGUF headers of a llama.cpp model), coverage.architecture
ARCH_KEYS = (
    ("layers", ("num_hidden_layers", "n_layer")),
    ("hidden_size", ("hidden_size", "n_embd", "d_model")),
    ("attention_heads", ("num_attention_heads", "n_head")),
    ("kv_heads", ("num_key_value_heads",)),
    ("intermediate_size", ("intermediate_size", "n_inner")),
    ("vocab_size", ("vocab_size",)),
)


@dataclass(frozen=True)
class ModelInputs:
    """Everything the render stage needs for one model, produced by the earlier stages."""

    entry: CardSubject
    tuned: ModelFacts
    base: ModelFacts | None
    diff: ModelDiff | None
    history: History
    provenance: Provenance
    card_defaults: dict[str, Any]
    assessment: Assessment | None = None
    deep: DeepDiff | None = None  # tensor contents compared (build --deep)
    release_changes: Mapping[str | None, tuple[Change, ...]] = field(default_factory=dict)
    base_unavailable: str | None = None  # why a configured base could not be read
    merge_sources: tuple[SourceCheck, ...] = ()  # a mergekit merge's sources, each checked


def _first(config: dict[str, Any], keys: tuple[str, ...]) -> Any:
    return next((config[k] for k in keys if config.get(k) is not None), None)


def architecture(facts: ModelFacts, base: ModelFacts | None) -> dict[str, Any]:
    """Architecture facts; an adapter reports its base's (it runs inside it)."""
    config = dict(
        facts.config or (base.config if base and facts.is_adapter and base.config else {}) or {}
    )
    if not config and facts.gguf:  # a llama.cpp repository: the GGUF header is the config
        return gguf_architecture(facts)
    arch = config.get("architectures")
    result: dict[str, Any] = {
        "class": arch[0] if isinstance(arch, list) and arch else None,
        "model_type": config.get("model_type"),
        "source": "config.json" if facts.config else ("base config.json" if config else None),
    }
    for name, keys in ARCH_KEYS:
        result[name] = _first(config, keys)
    result["context_window"] = _first(config, ("max_position_embeddings", "n_positions", "n_ctx"))
    result["rope_scaling"] = config.get("rope_scaling")
    result["rope_theta"] = config.get("rope_theta")
    result["sliding_window"] = config.get("sliding_window")
    result["dtype"] = config.get("dtype") or config.get("torch_dtype")
    result["precision"] = precision(config, where=result["source"] or "config.json")
    result["encoder_decoder"] = encoder_decoder(config)
    result["quantization"] = config.get("quantization_config")
    result["auto_map"] = config.get("auto_map")
    return result


def _card_meta(facts: ModelFacts | None) -> dict[str, Any]:
    return dict(facts.card.metadata) if facts and facts.card else {}


def licence_statement(
    tuned: ModelFacts, base: ModelFacts | None, entry: CardSubject, card_defaults: Mapping[str, Any]
) -> dict[str, Any]:
    """The licence the card states: the model's own (card, config), else the base's.

    The base's licence is its card's, else the known licence of the family its name shows
    (`assess/licence_family.py`). A licence build filled in from the base is marked so in the front matter (a YAML comment)
    and read back as the base's, never as the model's own: it follows the base's licence.
    """
    own = tuned.own_license or entry.card.get("license") or card_defaults.get("license")
    known = base_licence(base, tuned, *((entry.base.id, entry.base.path) if entry.base else ()))
    base_license = known.license
    return {
        "id": own or base_license,
        "base": base_license,
        "base_source": known.source,
        "inherited": bool(base_license) and (not own or own == base_license),
        "own": own,
    }


def front_matter(
    inputs: ModelInputs, arch: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(keys to write into the front matter, licence statement)."""
    meta: dict[str, Any] = {}
    base = inputs.entry.base
    if base and base.id:
        meta["base_model"] = base.id
    if inputs.diff is not None and base and base.id:
        meta["base_model_relation"] = inputs.diff.relation
    elif base and base.id and (own_relation := relation_from_files(inputs.tuned)):
        meta["base_model_relation"] = own_relation.value
    license_note = licence_statement(inputs.tuned, inputs.base, inputs.entry, inputs.card_defaults)
    if license_note["id"]:
        meta["license"] = license_note["id"]
        meta.update(
            licence_keys(license_note["id"], inputs.tuned, inputs.base, license_note["inherited"])
        )
    library = library_name(inputs.tuned)
    task = task_of(inputs.tuned, inputs.base)
    for key, value in (
        ("library_name", library.value if library else None),
        ("pipeline_tag", task.pipeline_tag.value if task and task.pipeline_tag else None),
    ):
        if value:
            meta[key] = value
    for key in ("language", "datasets", "library_name", "pipeline_tag"):
        value = inputs.entry.card.get(key) or inputs.card_defaults.get(key)
        if value:
            meta[key] = value
    tags = ["modelcards"]
    if inputs.tuned.is_adapter and isinstance(inputs.tuned.adapter, dict):
        peft = str(inputs.tuned.adapter.get("peft_type", "")).lower()
        tags += [
            t for t in ("base_model:adapter:" + base.id if base and base.id else "", peft) if t
        ]
    for source in (inputs.card_defaults.get("tags"), inputs.entry.card.get("tags")):
        if isinstance(source, list):
            tags += [str(t) for t in source if str(t) not in tags]
    meta["tags"] = tags
    return meta, license_note


NO_RECORD = TrainingRecord(
    global_step=None, epochs=None, best_checkpoint=None, best_metric=None, final_loss=None,
    eval_metrics={}, results={}, history=(), files=(),
)  # fmt: skip
MAX_HISTORY_POINTS = 2000  # card.json keeps an evenly spaced sample of longer logs (and the last)
TOKEN_KEYS = ("num_input_tokens_seen", "train_tokens", "total_tokens")


def _history_points(record: TrainingRecord) -> list[dict[str, Any]]:
    """The Trainer's log, one entry per logged step: what the training charts are drawn from."""
    points = list(record.history)
    if len(points) > MAX_HISTORY_POINTS:
        stride = len(points) / MAX_HISTORY_POINTS
        picked = {int(i * stride) for i in range(MAX_HISTORY_POINTS - 1)} | {len(points) - 1}
        points = [points[i] for i in sorted(picked)]
    return [
        {
            "step": p.step,
            "epoch": p.epoch,
            "loss": p.loss,
            "learning_rate": p.learning_rate,
            "eval": dict(p.eval),
        }
        for p in points
    ]


def _training(facts: ModelFacts) -> dict[str, Any] | None:
    record = facts.training
    if record is None:  # a merge, a quantization, a bare adapter: the recipe, in one shape
        if not has_recipe(facts):
            return None
        record = NO_RECORD
    return {
        "files": list(record.files),
        "global_step": record.global_step,
        "epochs": record.epochs,
        "best_metric": record.best_metric,
        "final_loss": record.final_loss,
        "eval_metrics": dict(record.eval_metrics),
        "results": {k: dict(v) for k, v in record.results.items()},
        "log_points": len(record.history),
        "history": _history_points(record),
        **training_totals(record),  # best_checkpoint as a file name, total_flos, runtime, ...
        "tokens": {
            "value": record.tokens_seen,
            "source": f"{record.files[0]}:num_input_tokens_seen",
        }
        if record.tokens_seen
        else result_number(record, TOKEN_KEYS),
        **recipe_context(facts),
    }


def _tokenizer(facts: ModelFacts) -> dict[str, Any] | None:
    tok = facts.tokenizer
    if tok is None:
        return None
    return {
        "class": tok.tokenizer_class,
        "files": list(tok.files),
        "special_tokens": dict(tok.special_tokens),
        "additional_special_tokens": list(tok.additional_special_tokens),
        "added_tokens": [
            {"id": t.id, "content": t.content, "special": t.special} for t in tok.added_tokens
        ],
        "model_max_length": tok.model_max_length,
        "chat_template": {"file": tok.chat_template_file, "names": sorted(tok.chat_templates)}
        if tok.chat_templates
        else None,
        **tokenizer_behaviour(tok),
    }


MAX_JSON_STRING = 64 * 1024  # one string in card.json: a chat template fits, a 10 MB value not


def bounded(value: Any) -> Any:
    """`value` with every string cut to MAX_JSON_STRING (saying how much was cut), so that a
    model file's huge value cannot make a card larger than the next build reads back."""
    if isinstance(value, str):
        return cut(value, MAX_JSON_STRING)
    if isinstance(value, dict):
        return {k: bounded(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [bounded(v) for v in value]
    return value


def build_context(inputs: ModelInputs) -> dict[str, Any]:
    """What every template and card.json see (the front matter as composed is kept whole)."""
    whole = _context(inputs)
    return {key: value if key == "metadata" else bounded(value) for key, value in whole.items()}


def _context(inputs: ModelInputs) -> dict[str, Any]:
    """The facts, then the EU documents drafted from them (they read the facts' keys)."""
    context = _facts(inputs)
    context["model_documentation"] = model_documentation(inputs, context).as_json()
    context["training_content"] = training_content(inputs, context).as_json()
    return context


def _facts(inputs: ModelInputs) -> dict[str, Any]:
    tuned = inputs.tuned
    arch = architecture(tuned, inputs.base)
    meta, license_note = front_matter(inputs, arch)
    base_spec = inputs.entry.base
    weights = tuned.weights
    history = inputs.history
    record, summary = evaluation_summary(tuned)
    written_index = model_index(
        tuned,
        record,
        name=inputs.entry.name,
        pipeline_tag=meta.get("pipeline_tag"),
        datasets=meta.get("datasets") or _card_meta(tuned).get("datasets"),
    )
    if written_index:
        meta["model-index"] = written_index  # marked as written from the files (render_model)
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "modelcards", "version": __version__},
        "model": {
            "name": inputs.entry.name,
            "path": inputs.entry.path,
            "relation": inputs.diff.relation if inputs.diff else None,
        },
        "base": None
        if base_spec is None
        else {
            "id": base_spec.id,
            "path": base_spec.path,
            "revision": base_spec.revision,
            "source": source_json(inputs.base.source) if inputs.base else None,
            "license": license_note["base"],
            "training_flos": training_totals(inputs.base.training)["total_flos"]
            if inputs.base and inputs.base.training
            else None,
        },
        "metadata": meta,
        "license": license_note,
        "architecture": arch,
        "parameters": {
            "total": weights.total_params
            if weights.files
            else (shared_facts(tuned.gguf)["parameters"] if tuned.gguf else None),
            "by_dtype": weights.params_by_dtype(),
            "files": list(weights.files),
            "opaque": [
                {"file": w.file, "size": w.size, "sha256": w.sha256, "reason": w.reason}
                for w in weights.opaque
            ],
        },
        "tokenizer": _tokenizer(tuned),
        "gguf": gguf_json(tuned),
        "task": task.as_json() if (task := task_of(tuned, inputs.base)) else None,
        "frameworks": [vars(f) for f in tuned.frameworks],
        "adapter": dict(tuned.adapter) if tuned.adapter else None,
        "generation": dict(tuned.generation) if tuned.generation else None,
        "training": _training(tuned),
        "compute": compute_json(
            tuned,
            inputs.base,
            declared=inputs.entry.base_compute,
            original_id=inputs.entry.original_base,
            parent=inputs.entry.parent,
        ),
        "evaluation": evaluation_rows(tuned, record),
        "evaluation_record": summary,
        "datasets": meta.get("datasets") or _card_meta(tuned).get("datasets") or [],
        "code_files": list(tuned.code_files),
        "diff": inputs.diff.as_json() if inputs.diff else None,
        "deep": None if inputs.deep is None else deep_json(inputs.deep),
        "base_check": base_check_json(
            inputs.deep,
            named=base_spec is not None,
            tuned=tuned,
            base=inputs.base,
            unavailable=inputs.base_unavailable,
        ),
        "merge_sources": [source.as_json() for source in inputs.merge_sources],
        "risks": [a.as_json() for a in inputs.assessment.findings] if inputs.assessment else [],
        "governance": [i.as_json() for i in inputs.assessment.checklist]
        if inputs.assessment
        else [],
        "scan": None
        if inputs.assessment is None or inputs.assessment.scan is None
        else {
            "files_scanned": inputs.assessment.scan.files_scanned,
            "partial": list(inputs.assessment.scan.partial),
        },
        "provenance": inputs.provenance.as_json(),
        "history": {
            "repository": history.repository,
            "in_git": history.in_git,
            "last_commit": history.last_commit,
            "pending": list(history.pending),
            "releases": [
                {
                    "tag": r.tag,
                    "date": r.date,
                    "commit": r.commit,
                    "groups": {g: [vars(c) for c in cs] for g, cs in r.groups().items()},
                    "changes": [c.as_json() for c in inputs.release_changes.get(r.tag, ())],
                    "compared": r.tag in inputs.release_changes,
                }
                for r in history.releases
            ],
        },
        "notes": list(tuned.notes),
        "coverage": coverage(
            base_spec is not None,
            base_spec.id if base_spec else None,
            tuned,
            inputs.base,
            inputs.base_unavailable,
        ),
        "links": {"changes": "CHANGES.md", "card_json": "card.json"},
    }
