"""The Model Documentation Form (Code of Practice, Transparency chapter, July 2025) for one model.

Eight sections, as the form has them: general information (with model dependencies and
authenticity), model properties (with the total size band), distribution and licences, use,
training process, training data, computational resources, energy. Each item is filled from the
files with the file or key it came from, drafted for a person to confirm, or to be provided
with what is needed. The items follow the form's field list as far as the excerpts we found
give it; where they did not (the numbering after 2.6, sections 4 to 8), the order and titles
follow Annex XI and XII of the AI Act, which the form implements, and so do the recipient
flags: an Annex XII item is for downstream providers too, an Annex XI-only item for the AI
Office and national competent authorities only (on request).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from modelcards.render.compute_context import parameter_count
from modelcards.render.eu_document import (
    AUTHORITIES_ONLY,
    DocumentItem,
    DocumentSection,
    EuDocument,
    drafted,
    filled,
    provider_item,
    release_tags,
    to_provide,
)
from modelcards.render.eu_figures import gigabytes, kv_cache, parameter_band, weight_bytes
from modelcards.render.training_content import data_sources, tokens_item

if TYPE_CHECKING:
    from modelcards.render.context import ModelInputs

TEMPLATE = "Model Documentation Form, GPAI Code of Practice, Transparency chapter (10 July 2025)"
NOTE = ("Drafted from the model's files by modelcards: an aid for the provider's own "
        "documentation, not legal advice. Items for the AI Office and national competent "
        "authorities are given to them on request only.")  # fmt: skip
HARDWARE_METHOD = ("weights as stored (parameters × bytes of their dtype, safetensors headers) "
                   "+ key-value cache of one sequence at the full context window (2 × layers × "
                   "key-value heads × head size × context tokens × bytes per value)")  # fmt: skip


def model_documentation(inputs: ModelInputs, context: Mapping[str, Any]) -> EuDocument:
    """The form for one model, from its card context and facts; the provider's statements from
    `inputs.entry.provider`."""
    name = str(context["model"]["name"])
    sections = (
        DocumentSection("1", "General information", _general(inputs, context)),
        DocumentSection("2", "Model properties", _properties(inputs, context)),
        DocumentSection("3", "Methods of distribution and licences", _distribution(context)),
        DocumentSection("4", "Use", _use(inputs, context)),
        DocumentSection("5", "Training process", _training_process(context)),
        DocumentSection(
            "6",
            "Information on the data used for training, testing and validation",
            _data(inputs, context),
        ),  # fmt: skip
        DocumentSection("7", "Computational resources (during training)", _compute(context)),
        DocumentSection("8", "Energy consumption (during training and inference)", _energy()),
    )
    title = f"Model Documentation Form: {name}"
    return EuDocument("model_documentation", title, TEMPLATE, name, sections, NOTE)


# -- 1 -----------------------------------------------------------------------------------------


def _general(inputs: ModelInputs, ctx: Mapping[str, Any]) -> tuple[DocumentItem, ...]:
    provider = inputs.entry.provider
    tags = release_tags(ctx)
    name = str(ctx["model"]["name"])
    items = [
        provider_item(provider, "provider_name", "1.1", "Legal name of the model provider",
                      "the legal name of the provider placing the model on the market"),
        provider_item(provider, "provider_contact", "1.1", "Contact point (Measure 1.2)",
                      "a contact point for the AI Office and downstream providers"),
        filled("model_name", "1.2", "Model name", name,
               "modelcards.yml models[].name (else the model's folder name)"),
        filled("versions", "1.2", "Publicly available versions", [t["tag"] for t in tags],
               "git tags: " + ", ".join(str(t["tag"]) for t in tags))
        if tags else to_provide("versions", "1.2", "Publicly available versions",
                                "the versions placed on the market: no release tags in git"),
        _authenticity(ctx),
        drafted("release_date", "1.4", "Release date", tags[0]["date"],
                f"date of the first release tag ({tags[0]['tag']})",
                "the date the model was first released through any channel")
        if tags and tags[0].get("date") else to_provide(
            "release_date", "1.4", "Release date",
            "the date of first release: no dated release tag in git"),
        provider_item(provider, "market_date", "1.5", "Union market release date",
                      "the date the model was placed on the Union market"),
        _dependencies(ctx),
    ]  # fmt: skip
    return tuple(items)


def _authenticity(ctx: Mapping[str, Any]) -> DocumentItem:
    files = [f for f in (ctx.get("provenance") or {}).get("files") or [] if f.get("sha256")]
    title = "Model authenticity"
    if not files:
        return to_provide("authenticity", "1.3", title,
                          "evidence of authenticity: no file hashes were recorded")  # fmt: skip
    value = {"sha256": {f["path"]: f["sha256"] for f in files},
             "signature": "model.sig beside the files when signed (`modelcards sign`); "
                          "`modelcards verify` checks it"}  # fmt: skip
    return filled("authenticity", "1.3", title, value,
                  f"sha256 of the model's {len(files)} files (card.json provenance.files)")  # fmt: skip


def _dependencies(ctx: Mapping[str, Any]) -> DocumentItem:
    base = ctx.get("base")
    title = "Model dependencies"
    if not base:
        return drafted("dependencies", "1.6", title, "N/A", "no base model in modelcards.yml",
                       "that the model is not a modification of another model")  # fmt: skip
    source = base.get("source") or {}
    revision = base.get("revision") or source.get("revision")
    model = base.get("id") or base.get("path")
    value = {
        "model": model,
        "revision": revision,
        "text": f"{model} at revision {revision}" if revision else f"{model} (no revision pinned)",
    }
    where = "modelcards.yml base" + (f" (read from {source['kind']})" if source.get("kind") else "")
    if not base.get("id"):
        return drafted("dependencies", "1.6", title, value, where,
                       "the published name of the base model (only a folder is configured)")  # fmt: skip
    return filled("dependencies", "1.6", title, value, where)


# -- 2 -----------------------------------------------------------------------------------------


def _properties(inputs: ModelInputs, ctx: Mapping[str, Any]) -> tuple[DocumentItem, ...]:
    arch = ctx.get("architecture") or {}
    items = [_architecture(ctx, arch), _design(ctx)]
    items += _modalities(ctx, arch)
    items.append(_size(inputs))
    return tuple(items)


def _architecture(ctx: Mapping[str, Any], arch: Mapping[str, Any]) -> DocumentItem:
    title = "Model architecture"
    if not arch.get("class") and not arch.get("model_type"):
        return to_provide("architecture", "2.1", title,
                          "a description of the architecture: no config.json names it")  # fmt: skip
    shape = ", ".join(f"{k.replace('_', ' ')} {arch[k]}" for k in
                      ("layers", "hidden_size", "attention_heads", "kv_heads") if arch.get(k))  # fmt: skip
    text = f"{arch.get('class') or arch.get('model_type')} (transformer" + (
        f"; {shape})" if shape else ")"
    )
    adapter = ctx.get("adapter") or {}
    if adapter.get("peft_type"):
        text += f", with a {adapter['peft_type']} adapter (adapter_config.json)"
    key = "general.architecture" if "(GGUF header" in str(arch.get("source")) else "architectures"
    return filled("architecture", "2.1", title, text, f"{arch.get('source')}: {key}")


def _design(ctx: Mapping[str, Any]) -> DocumentItem:
    title = "Design specifications (changes from the base)"
    diff = ctx.get("diff")
    if not diff:
        return to_provide("design", "2.2", title,
                          "the key design choices and their rationale: no base to compare with")  # fmt: skip
    changes = [c for c in diff.get("changes") or [] if c.get("significant")]
    value = [f"{c.get('area')}: {c.get('meaning') or c.get('key')}" for c in changes[:20]]
    if not value:
        value = [f"relation to the base: {diff.get('relation')}; no significant change"]
    return drafted("design", "2.2", title, value, "the diff against the base (card.json diff)",
                   "the rationale and assumptions behind these changes")  # fmt: skip


def _modalities(ctx: Mapping[str, Any], arch: Mapping[str, Any]) -> list[DocumentItem]:
    task = ctx.get("task") or {}
    tokenizer = ctx.get("tokenizer") or {}
    window = arch.get("context_window")
    window_source = f"{arch.get('source')}: max_position_embeddings"
    items = []
    for side, ref in (("inputs", "2.3"), ("outputs", "2.6")):
        stated = [s for s in task.get(side) or [] if s]
        label = "Input" if side == "inputs" else "Output"
        if stated:
            items.append(filled(f"{label.lower()}_modalities", ref, f"{label} modalities",
                                [s["value"] for s in stated],
                                "; ".join(dict.fromkeys(s["source"] for s in stated))))  # fmt: skip
        else:
            items.append(to_provide(f"{label.lower()}_modalities", ref, f"{label} modalities",
                                    f"the {label.lower()} modalities: no file states the "
                                    "task"))  # fmt: skip
    positions = arch.get("encoder_decoder") or {}
    if window:
        items.append(filled("max_input", "2.5", "Maximum input size", f"{window} tokens",
                            window_source))  # fmt: skip
    elif positions.get("encoder_positions"):  # the encoder's limit, whatever its input is
        items.append(filled("max_input", "2.5", "Maximum input size",
                            f"{positions['encoder_positions']} encoder positions",
                            f"{arch.get('source')}: max_source_positions"))  # fmt: skip
    elif tokenizer.get("model_max_length"):
        items.append(drafted("max_input", "2.5", "Maximum input size",
                             f"{tokenizer['model_max_length']} tokens",
                             "tokenizer_config.json: model_max_length",
                             "the tokenizer's limit, not the model's: confirm"))  # fmt: skip
    else:
        items.append(to_provide("max_input", "2.5", "Maximum input size",
                                "the maximum input size: no context window in the config"))  # fmt: skip
    generation = ctx.get("generation") or {}
    if positions.get("decoder_positions"):
        items.append(filled("max_output", "2.8", "Maximum output size",
                            f"{positions['decoder_positions']} tokens (decoder positions)",
                            f"{arch.get('source')}: max_target_positions"))  # fmt: skip
    elif generation.get("max_new_tokens"):
        items.append(drafted("max_output", "2.8", "Maximum output size",
                             f"{generation['max_new_tokens']} new tokens by default",
                             "generation_config.json: max_new_tokens",
                             "a default a caller can change: the context window bounds it"))  # fmt: skip
    elif window and any(
        "text" in str(s.get("value")).lower() for s in task.get("outputs") or [] if s
    ):
        items.append(drafted("max_output", "2.8", "Maximum output size",
                             f"up to {window} tokens, prompt included", window_source,
                             "no generation limit is set: the context window bounds it"))  # fmt: skip
    else:
        items.append(to_provide("max_output", "2.8", "Maximum output size",
                                "the maximum output size: no generation limit in the files"))  # fmt: skip
    return [items[0], items[2], items[1], items[3]]  # the form's order: input, then output


def _size_value(parameters: int) -> dict[str, Any]:
    band = parameter_band(parameters)
    return {"parameters": parameters, "band": band,
            "text": f"{parameters:,} parameters (size range {band})"}  # fmt: skip


def _size(inputs: ModelInputs) -> DocumentItem:
    title = "Total model size (parameters) and size range"
    own = parameter_count(inputs.tuned)
    if own is None:
        return to_provide("total_model_size", "2.9", title,
                          "the parameter count: not every weight file's header was read")  # fmt: skip
    if not inputs.tuned.is_adapter:
        return filled("total_model_size", "2.9", title,
                      _size_value(own[0]), own[1])  # fmt: skip
    base = parameter_count(inputs.base)
    if base is None:
        return to_provide("total_model_size", "2.9", title,
                          f"the base's parameter count (base weights not read); the adapter "
                          f"alone has {own[0]:,}")  # fmt: skip
    total = base[0] + own[0]
    value = dict(_size_value(total), adapter_parameters=own[0])
    value["text"] += f", of which {own[0]:,} in the adapter"
    return filled("total_model_size", "2.9", title, value, f"base {base[1]} + adapter {own[1]}")


# -- 3 -----------------------------------------------------------------------------------------


def _distribution(ctx: Mapping[str, Any]) -> tuple[DocumentItem, ...]:
    repository = (ctx.get("provenance") or {}).get("repository")
    channels = (
        drafted("distribution", "3.1", "Distribution channels", repository,
                "git remote of the project (card.json provenance.repository)",
                "where the model is offered (Hub, download, API)")
        if repository else to_provide(
            "distribution", "3.1", "Distribution channels",
            "the channels the model is distributed through: no git remote recorded")
    )  # fmt: skip
    return channels, _licence(ctx)


def _licence(ctx: Mapping[str, Any]) -> DocumentItem:
    licence = ctx.get("license") or {}
    title = "Licence (and its drift from the base)"
    if not licence.get("id"):
        return to_provide("licence", "3.2", title,
                          "the licence: neither the card nor the base states one")  # fmt: skip
    base = licence.get("base")
    drift = ("same as the base" if base == licence["id"] else
             f"differs from the base ({base} → {licence['id']})" if base else
             "the base's licence is not known")  # fmt: skip
    value = {
        "license": licence["id"],
        "base_license": base,
        "drift": drift,
        "text": f"{licence['id']} ({drift})",
    }
    if licence.get("own"):
        return filled("licence", "3.2", title, value, "README.md front matter: license")
    return drafted("licence", "3.2", title, value,
                   f"the base's licence ({licence.get('base_source') or 'base card'})",
                   "that the base's licence is the model's own: the card states none")  # fmt: skip


# -- 4 -----------------------------------------------------------------------------------------


def _use(inputs: ModelInputs, ctx: Mapping[str, Any]) -> tuple[DocumentItem, ...]:
    task = (ctx.get("task") or {}).get("pipeline_tag")
    return (
        provider_item(inputs.entry.provider, "acceptable_use_policy", "4.1",
                      "Acceptable use policy", "a link to (or the file of) the acceptable-use policy"),
        drafted("intended_uses", "4.2", "Intended uses", task["value"], task["source"],
                "the tasks the model is meant for, beyond its Hub task")
        if task else to_provide("intended_uses", "4.2", "Intended uses",
                                "the intended tasks: no file states the task"),
        to_provide("system_types", "4.3", "Type and nature of AI systems it can be integrated into",
                   "the kinds of AI system the model is meant for: the files cannot say"),
        _integration(ctx),
        _hardware(inputs, ctx),
        _software(ctx),
    )  # fmt: skip


def _integration(ctx: Mapping[str, Any]) -> DocumentItem:
    parts: dict[str, Any] = {}
    sources = []
    chat = (ctx.get("tokenizer") or {}).get("chat_template")
    if chat:
        parts["chat_template"] = {"file": chat["file"], "names": chat["names"]}
        sources.append(f"{chat['file']}: chat_template")
    library = (ctx.get("metadata") or {}).get("library_name")
    if library:
        parts["library"] = library
        sources.append("library_name (card front matter, or the files' kind)")
    adapter = ctx.get("adapter") or {}
    if adapter.get("peft_type"):
        parts["adapter"] = f"{adapter['peft_type']} adapter loaded onto the base (PEFT)"
        sources.append("adapter_config.json: peft_type")
    title = "Technical means for integration"
    if not parts:
        return to_provide("integration", "4.4", title,
                          "how to integrate the model: no chat template, library or adapter "
                          "config in the files")  # fmt: skip
    return filled("integration", "4.4", title, parts, "; ".join(sources))


def _software(ctx: Mapping[str, Any]) -> DocumentItem:
    versions = [f for f in ctx.get("frameworks") or [] if f.get("version")]
    title = "Required software (versions)"
    if not versions:
        return to_provide("software", "4.6", title,
                          "the software versions needed: no file records one")  # fmt: skip
    return filled("software", "4.6", title, {f["name"]: f["version"] for f in versions},
                  "; ".join(dict.fromkeys(str(f["source"]) for f in versions)))  # fmt: skip


def _hardware(inputs: ModelInputs, ctx: Mapping[str, Any]) -> DocumentItem:
    title = "Required hardware (memory to run it)"
    by_dtype = dict(inputs.tuned.weights.params_by_dtype())
    sources = [f"safetensors headers ({', '.join(inputs.tuned.weights.files)})"]
    if inputs.tuned.is_adapter and inputs.base is not None:
        for dtype, count in inputs.base.weights.params_by_dtype().items():
            by_dtype[dtype] = by_dtype.get(dtype, 0) + count
        sources.append(f"base safetensors headers ({', '.join(inputs.base.weights.files)})")
    complete = parameter_count(inputs.tuned) and (
        not inputs.tuned.is_adapter or parameter_count(inputs.base)
    )
    stored = weight_bytes(by_dtype) if complete else None
    if stored is None:
        return to_provide("hardware", "4.5", title,
                          "the memory needed: the weights' sizes are not all known from "
                          "their headers")  # fmt: skip
    config = dict(inputs.tuned.config or (inputs.base.config if inputs.base else None) or {})
    cache = kv_cache(config)
    value: dict[str, Any] = {"weights_bytes": stored, "method": HARDWARE_METHOD}
    if cache:
        value.update(kv_cache_bytes=cache["bytes"], kv_cache_inputs=cache,
                     total_bytes=stored + cache["bytes"],
                     text=f"at least {gigabytes(stored + cache['bytes'])} of accelerator memory "
                          f"({gigabytes(stored)} weights + {gigabytes(cache['bytes'])} key-value "
                          f"cache at {cache['context_tokens']} tokens)")  # fmt: skip
        sources.append(f"{ctx['architecture'].get('source')}: layers, key-value heads, head "
                       "size, context window, dtype")  # fmt: skip
    else:
        value.update(total_bytes=stored, text=f"at least {gigabytes(stored)} for the weights; "
                     "no key-value cache estimate (the config does not give its shape)")  # fmt: skip
    return drafted("hardware", "4.5", title, value, "; ".join(sources),
                   "an estimate for batch size 1: name the hardware it runs on")  # fmt: skip


# -- 5 to 8 ------------------------------------------------------------------------------------


def _training_process(ctx: Mapping[str, Any]) -> tuple[DocumentItem, ...]:
    training = ctx.get("training") or {}
    rows = [r for r in training.get("recipe") or [] if not r.get("doubtful")]
    title = "Design specifications of the training process (the recipe)"
    recipe = (
        filled("training_process", "5.1", title, {r["label"]: r["text"] for r in rows},
               "; ".join(dict.fromkeys(str(r["source"]).split(":", 1)[0] for r in rows)),
               recipients=AUTHORITIES_ONLY)
        if rows else to_provide(
            "training_process", "5.1", title,
            "how the model was trained: no training record or config in the files (trainer_state"
            ".json, training_args.bin, a LLaMA-Factory, axolotl or unsloth config)",
            recipients=AUTHORITIES_ONLY)
    )  # fmt: skip
    rationale = to_provide("training_rationale", "5.2", "Decision rationale",
                           "why the training was designed so: the files cannot say",
                           recipients=AUTHORITIES_ONLY)  # fmt: skip
    return recipe, rationale


def _data(inputs: ModelInputs, ctx: Mapping[str, Any]) -> tuple[DocumentItem, ...]:
    sources = data_sources(ctx)
    provenance = (
        drafted("data_provenance", "6.2", "Data provenance", sources["value"], sources["source"],
                "the category of each source (public, licensed, crawled, user, synthetic)")
        if sources["value"] else to_provide(
            "data_provenance", "6.2", "Data provenance",
            "the sources of the training data: no file names a dataset")
    )  # fmt: skip

    def asked(key: str, ref: str, title: str, **kw: Any) -> DocumentItem:
        return to_provide(key, ref, title, "to be described: the files cannot say", **kw)

    return (
        _data_type(ctx),
        provenance,
        asked("data_collection", "6.3", "How the data was obtained and selected"),
        tokens_item(
            inputs.tuned,
            "data_points",
            "6.4",
            "Number of data points (tokens seen)",
            recipients=AUTHORITIES_ONLY,
        ),
        asked("data_scope", "6.5", "Scope and main characteristics of the data"),
        asked("data_curation", "6.6", "Data curation methodologies"),
        asked(
            "unsuitable_data",
            "6.7",
            "Measures to detect unsuitable data sources",
            recipients=AUTHORITIES_ONLY,
        ),
        asked(
            "data_biases",
            "6.8",
            "Measures to detect identifiable biases",
            recipients=AUTHORITIES_ONLY,
        ),
    )


def _data_type(ctx: Mapping[str, Any]) -> DocumentItem:
    inputs = [s for s in (ctx.get("task") or {}).get("inputs") or [] if s]
    title = "Data type and modality"
    if not inputs:
        return to_provide("data_type", "6.1", title, "the training data's modalities")
    return drafted("data_type", "6.1", title, [s["value"] for s in inputs],
                   "the model's input modalities (" + inputs[0]["source"] + ")",
                   "that the training data has the modalities the model takes")  # fmt: skip


def _compute(ctx: Mapping[str, Any]) -> tuple[DocumentItem, ...]:
    training = ctx.get("training") or {}
    runtime = training.get("runtime")
    who = {"recipients": AUTHORITIES_ONLY}
    time_item = (
        filled("training_time", "7.1", "Training time", f"{float(runtime['value']):,.0f} s "
               "wall clock", str(runtime["source"]), **who)
        if runtime else to_provide("training_time", "7.1", "Training time",
                                   "the wall-clock and hardware time: no train_runtime recorded",
                                   **who)
    )  # fmt: skip
    compute = ctx.get("compute") or {}
    title = "Amount of computation used for training (FLOP), method and threshold"
    if not compute.get("flop"):
        notes = "; ".join(compute.get("notes") or []) or "no training record"
        return time_item, to_provide("compute", "7.2", title,
                                     f"the training compute: {notes}", **who)  # fmt: skip
    value = {k: compute.get(k) for k in ("flop", "low", "high", "method", "method_text",
                                         "threshold_flop", "verdict")}  # fmt: skip
    value["base_compute_source"] = (compute.get("base_compute") or {}).get("source")
    value["text"] = (f"{compute['flop']:.3g} FLOP by {compute.get('method_text')}: "
                     f"{compute.get('verdict')} ({compute.get('threshold_flop'):.3g} FLOP, one "
                     f"third of the original’s compute: {value['base_compute_source']})")  # fmt: skip
    sources = "; ".join(f"{r['name']}: {r['source']}" for r in compute.get("inputs") or [])
    exact = compute.get("low") == compute.get("high") == compute.get("flop")
    if exact:
        return time_item, filled("compute", "7.2", title, value, sources, **who)
    return time_item, drafted("compute", "7.2", title, value, sources,
                              "an estimate with a range: " + "; ".join(compute.get("notes") or []),
                              **who)  # fmt: skip


def _energy() -> tuple[DocumentItem, ...]:
    who = {"recipients": AUTHORITIES_ONLY}
    return (
        to_provide("training_energy", "8.1", "Energy used for training (MWh)",
                   "the energy: measured, or the hardware type, count and hours to estimate it "
                   "(the files record none)", **who),
        to_provide("energy_method", "8.2", "Energy measurement methodology",
                   "how the energy was measured or estimated", **who),
        to_provide("inference_compute", "8.3", "Benchmarked amount of computation for inference",
                   "the compute of a benchmarked inference run", **who),
    )  # fmt: skip
