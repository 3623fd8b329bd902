"""The public summary of training content (Commission template, 24 July 2025) for a modification.

A fine-tuner who becomes a provider summarises the data of the modification only; the base's
own data is in the base's summary, which this one links to. Three sections, as the template has
them: general information (provider, model, dependencies, modalities and the size band of the
data), the list of data sources by category, and data processing (text-and-data-mining opt-outs
respected, illegal content removed). The datasets the files name are sorted into the
template's categories: a Hub dataset id is publicly available; a local file is private and to
be described; a name that says it is generated is synthetic, its generating model to be named
(no config we read names one). Everything else is for the provider to state.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from modelcards.inspect.facts import ModelFacts
from modelcards.inspect.recipe_keys import LOCAL
from modelcards.render.compute_context import tokens
from modelcards.render.eu_document import (
    PUBLIC,
    DocumentItem,
    DocumentSection,
    EuDocument,
    drafted,
    filled,
    provider_item,
    release_tags,
    to_provide,
)
from modelcards.render.eu_figures import token_band

if TYPE_CHECKING:
    from modelcards.render.context import ModelInputs

TEMPLATE = ("Template for the public summary of training content for general-purpose AI models "
            "(European Commission, 24 July 2025)")  # fmt: skip
NOTE = ("Covers the data of this modification only; the base model's training data is in its "
        "provider's own summary. Drafted from the model's files by modelcards: not legal "
        "advice.")  # fmt: skip
HUB_DATASET = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}/[\w.-]{1,96}$")
DATA_FILE = re.compile(r"\.(jsonl?|csv|tsv|parquet|arrow|txt|xlsx?)$", re.I)
SYNTHETIC_WORDS = re.compile(r"synthetic|distil|generated|gpt-?4|self-instruct", re.I)
PUBLIC_DATA, PRIVATE_DATA, SYNTHETIC_DATA, UNKNOWN_DATA = (
    "public",
    "private",
    "synthetic",
    "unknown",
)


def dataset_category(name: str) -> str:
    """public (a Hub id), private (a local file), synthetic (named so) or unknown (a bare name,
    such as an entry of a training stack's own registry)."""
    if SYNTHETIC_WORDS.search(name):
        return SYNTHETIC_DATA
    if name.endswith(LOCAL) or DATA_FILE.search(name) or name.startswith((".", "/", "~")):
        return PRIVATE_DATA
    return PUBLIC_DATA if HUB_DATASET.match(name.split(" (", 1)[0]) else UNKNOWN_DATA


def data_sources(ctx: Mapping[str, Any]) -> dict[str, Any]:
    """The datasets the files name, each with its category and where it is named; `source`
    joins those places."""
    named: dict[str, str] = {}
    for row in (ctx.get("training") or {}).get("recipe") or []:
        if row.get("key") == "datasets" and isinstance(row.get("value"), list):
            for name in row["value"]:
                named.setdefault(str(name), str(row["source"]))
    front = ctx.get("datasets") or []
    for name in front if isinstance(front, list) else [front]:
        named.setdefault(str(name), "README.md front matter: datasets")
    value = [{"name": name, "category": dataset_category(name), "named_in": where}
             for name, where in named.items()]  # fmt: skip
    return {"value": value, "source": "; ".join(dict.fromkeys(named.values()))}


def tokens_item(facts: ModelFacts, key: str, ref: str, title: str, **kw: Any) -> DocumentItem:
    """The tokens the training saw, with their size band: counted (filled), worked out from
    steps × batch × sequence length (drafted, with its range), or to be provided with why."""
    count, rows, notes = tokens(facts)
    if count is None:
        return to_provide(key, ref, title, "the amount of training data: the run counted no "
                          "tokens (num_input_tokens_seen) and " + "; ".join(notes), **kw)  # fmt: skip
    band = token_band(count["value"])
    value = {"tokens": count["value"], "band": band,
             "text": f"{count['value']:,} tokens ({band})"}  # fmt: skip
    sources = "; ".join(f"{r['name']}: {r['source']}" for r in rows)
    if count["low"] == count["high"] == count["value"]:
        return filled(key, ref, title, value, sources, **kw)
    value.update(low=count["low"], high=count["high"])
    return drafted(key, ref, title, value, sources, "estimated: " + "; ".join(notes), **kw)


def training_content(inputs: ModelInputs, context: Mapping[str, Any]) -> EuDocument:
    name = str(context["model"]["name"])
    sections = (
        DocumentSection("1", "General information", _general(inputs, context)),
        DocumentSection("2", "List of data sources", _sources(context)),
        DocumentSection("3", "Relevant data processing aspects", _processing(inputs)),
    )
    return EuDocument("training_content", f"Public summary of training content: {name}",
                      TEMPLATE, name, sections, NOTE)  # fmt: skip


def _general(inputs: ModelInputs, ctx: Mapping[str, Any]) -> tuple[DocumentItem, ...]:
    provider = inputs.entry.provider
    who = {"recipients": PUBLIC}
    tags = release_tags(ctx)
    name = str(ctx["model"]["name"])
    base = ctx.get("base") or {}
    base_name = base.get("id") or base.get("path")
    versioned = f"{name} {tags[-1]['tag']}" if tags else name
    return (
        provider_item(provider, "provider_name", "1.1", "Provider name",
                      "the provider's legal name", **who),
        provider_item(provider, "provider_contact", "1.1", "Provider contact",
                      "a contact point", **who),
        filled("model_name", "1.2", "Versioned model name", versioned,
               "modelcards.yml models[].name" + (" and git tags" if tags else ""), **who),
        filled("model_dependencies", "1.2", "Modified model", base_name, "modelcards.yml base",
               **who) if base_name else drafted(
            "model_dependencies", "1.2", "Modified model", "N/A",
            "no base model in modelcards.yml", "that this is not a modification", **who),
        to_provide("base_summary", "1.2", "Link to the modified model's own summary",
                   f"the link to the summary {base_name}'s provider published (not known to "
                   "modelcards)", **who) if base_name else drafted(
            "base_summary", "1.2", "Link to the modified model's own summary", "N/A",
            "no base model in modelcards.yml", "that no earlier summary applies", **who),
        provider_item(provider, "market_date", "1.2", "Date of placement on the Union market",
                      "the date the model was placed on the Union market", **who),
        _modalities(ctx),
        tokens_item(inputs.tuned, "training_data_size", "1.3", "Size of the training data (this "
                    "modification)", **who),
        _languages(inputs, ctx),
        to_provide("content_types", "1.3", "Types of content and latest date of data "
                   "collection", "the kinds of content and when the data was last collected: "
                   "the files cannot say", **who),
    )  # fmt: skip


def _modalities(ctx: Mapping[str, Any]) -> DocumentItem:
    inputs = [s for s in (ctx.get("task") or {}).get("inputs") or [] if s]
    title = "Modalities of the training data"
    if not inputs:
        return to_provide("modalities", "1.3", title, "the training data's modalities",
                          recipients=PUBLIC)  # fmt: skip
    return drafted("modalities", "1.3", title, [s["value"] for s in inputs],
                   "the model's input modalities (" + inputs[0]["source"] + ")",
                   "that the training data has the modalities the model takes",
                   recipients=PUBLIC)  # fmt: skip


def _languages(inputs: ModelInputs, ctx: Mapping[str, Any]) -> DocumentItem:
    card = inputs.tuned.card.metadata if inputs.tuned.card else {}
    configured = (ctx.get("metadata") or {}).get("language")
    language, where = ((card.get("language"), "README.md front matter: language")
                       if card.get("language") else (configured, "modelcards.yml card: language"))  # fmt: skip
    title = "Linguistic characteristics"
    if not language:
        return to_provide("languages", "1.3", title, "the languages of the training data",
                          recipients=PUBLIC)  # fmt: skip
    value = [str(v) for v in language] if isinstance(language, list) else [str(language)]
    return drafted(
        "languages",
        "1.3",
        title,
        value,
        where,
        "the model's languages; confirm they are the data's",
        recipients=PUBLIC,
    )


def _sources(ctx: Mapping[str, Any]) -> tuple[DocumentItem, ...]:
    found = data_sources(ctx)
    by_category: dict[str, list[dict[str, Any]]] = {}
    for entry in found["value"]:
        by_category.setdefault(entry["category"], []).append(entry)
    who = {"recipients": PUBLIC}

    def where(entries: list[dict[str, Any]]) -> str:
        return "; ".join(dict.fromkeys(e["named_in"] for e in entries))

    public = by_category.get(PUBLIC_DATA, [])
    private = by_category.get(PRIVATE_DATA, []) + by_category.get(UNKNOWN_DATA, [])
    synthetic = by_category.get(SYNTHETIC_DATA, [])
    hub = [dict(e, link=f"https://huggingface.co/datasets/{e['name'].split(' (', 1)[0]}")
           for e in public]  # fmt: skip
    return (
        filled("public_datasets", "2.1", "Publicly available datasets", hub, where(public), **who)
        if public else to_provide("public_datasets", "2.1", "Publicly available datasets",
                                  "whether public datasets were used: the files name none", **who),
        drafted("private_datasets", "2.2", "Private datasets", private, where(private),
                "private: describe each (licensed from a third party, or the provider's own; "
                "a name without an organisation may be a training stack's registry entry)", **who)
        if private else to_provide("private_datasets", "2.2", "Private datasets",
                                   "whether private datasets were used: the files name none",
                                   **who),
        to_provide("crawled_data", "2.3", "Data crawled and scraped from online sources",
                   "whether any data was crawled, by which crawlers and from what: the files "
                   "cannot say", **who),
        to_provide("user_data", "2.4", "User data", "whether data from users of the provider's "
                   "services was used", **who),
        drafted("synthetic_data", "2.5", "Synthetic data", synthetic, where(synthetic),
                "the models that generated it (no config we read names them)", **who)
        if synthetic else to_provide("synthetic_data", "2.5", "Synthetic data",
                                     "whether synthetic data was used, and the models that "
                                     "generated it: no dataset name says so", **who),
        to_provide("other_data", "2.6", "Other sources of data", "any other source", **who),
    )  # fmt: skip


def _processing(inputs: ModelInputs) -> tuple[DocumentItem, ...]:
    who = {"recipients": PUBLIC}
    return (
        provider_item(inputs.entry.provider, "tdm_opt_out_policy", "3.1",
                      "Respect of reservations of rights from the text-and-data-mining exception",
                      "how opt-outs (robots.txt, other machine-readable reservations) were "
                      "respected", **who),
        to_provide("illegal_content", "3.2", "Removal of illegal content",
                   "the measures taken to avoid or remove illegal content in the training "
                   "data: the files cannot say", **who),
    )  # fmt: skip
