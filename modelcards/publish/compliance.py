"""Documentation support for the EU AI Act (general-purpose models) and the NIST AI RMF.

Each documentation item of Annex XI §1 (technical documentation for the AI Office) and Annex XII
(information for downstream providers) is marked *evidenced* (with the file and key it was read
from), *partial* (something is there, named, but not all the item asks) or *missing*. Nothing is
inferred beyond the files: a missing item is a to-do for people, not a guess. This is
documentation support, not legal advice.
"""

from __future__ import annotations

import re
from typing import Any

PLACEHOLDER = "[More Information Needed]"
POLICY_FILE = re.compile(r"(acceptable[-_ ]?use|use[-_ ]?policy|(^|/)aup\b)", re.IGNORECASE)


def _section(body: str, *titles: str) -> tuple[str, str] | None:
    """(title, text) of the first Markdown section with one of `titles` that someone filled in."""
    for title in titles:
        match = re.search(
            rf"^#{{2,4}}\s+{re.escape(title)}\s*$\n(?P<text>.*?)(?=^#{{1,4}}\s|\Z)",
            body,
            re.MULTILINE | re.DOTALL | re.IGNORECASE,
        )
        if match:
            text = re.sub(r"<!--.*?-->", "", match.group("text"), flags=re.DOTALL).strip()
            if text and PLACEHOLDER not in text:
                return title, text
    return None


def use_cases(card_body: str) -> list[str]:
    """The intended uses a person wrote in the card (one entry per paragraph), if any."""
    found = _section(card_body, "Intended use", "Intended uses", "Direct Use")
    if not found:
        return []
    return [" ".join(p.split()) for p in found[1].split("\n\n") if p.strip()]


def modality_evidence(task: dict[str, Any]) -> list[str]:
    """The inputs and outputs card.json's `task` states, each with its source; nothing for a
    model whose files state neither (never "text" by default)."""
    found = []
    for side in ("inputs", "outputs"):
        for item in task.get(side) or []:
            found.append(f"{side[:-1]} {item['value']} from {item['source']}")
    for key, what in (("sampling_rate", "audio sampling rate"), ("image_size", "image size")):
        if task.get(key):
            found.append(f"{what} {task[key]['value']} from {task[key]['source']}")
    return found


def _item(
    key: str, title: str, refs: str, status: str, evidence: list[str], note: str = ""
) -> dict[str, Any]:
    return {
        "key": key,
        "title": title,
        "refs": refs,
        "status": status,
        "evidence": evidence,
        "note": note,
    }


def fine_tune_compute(ctx: dict[str, Any]) -> dict[str, Any] | None:
    """card.json's `compute` (render/compute_context.py): method, inputs, range and verdict."""
    return ctx.get("compute")


def eu_ai_act_items(ctx: dict[str, Any], card_body: str) -> list[dict[str, Any]]:
    meta = ctx.get("metadata") or {}
    arch = ctx.get("architecture") or {}
    params = ctx.get("parameters") or {}
    tok = ctx.get("tokenizer") or {}
    training = ctx.get("training") or {}
    history = ctx.get("history") or {}
    files = [f["path"] for f in (ctx.get("provenance") or {}).get("files", [])]
    items = []

    uses = _section(card_body, "Intended use", "Intended uses", "Direct Use", "Uses")
    facts = ctx.get("task") or {}
    stated = facts.get("pipeline_tag") or {}
    task = stated.get("value") or meta.get("pipeline_tag")
    evidence = []
    if task:
        source = stated.get("source") if stated.get("value") == task else None
        evidence.append(f"task `{task}` from {source or 'README.md pipeline_tag'}")
    if uses:
        evidence.append(f"README.md section “{uses[0]}”")
    items.append(
        _item(
            "tasks",
            "Tasks and intended uses",
            "Annex XI 1(a); Annex XII 1(a)",
            "evidenced" if task and uses else ("partial" if evidence else "missing"),
            evidence,
            "" if uses else "write the intended uses in the card's “Direct Use” section",
        )  # fmt: skip
    )

    policy_files = [f for f in files if POLICY_FILE.search(f)]
    oos = _section(card_body, "Out-of-Scope Use", "Acceptable use", "Acceptable use policy")
    evidence = [f"file `{f}`" for f in policy_files]
    if oos:
        evidence.append(f"README.md section “{oos[0]}”")
    items.append(
        _item(
            "acceptable_use",
            "Acceptable-use policy",
            "Annex XI 1(b); Annex XII 1(b)",
            "evidenced" if policy_files else ("partial" if oos else "missing"),
            evidence,
            "" if policy_files else "link or ship an acceptable-use policy with the model",
        )  # fmt: skip
    )

    releases = [r for r in history.get("releases", []) if r.get("tag")]
    evidence = (
        [f"git tag `{releases[0]['tag']}` ({(releases[0].get('date') or '')[:10]})"]
        if releases
        else []
    )
    if history.get("repository"):
        evidence.append(f"repository `{history['repository']}`")
    items.append(
        _item(
            "release",
            "Release date and distribution",
            "Annex XI 1(c); Annex XII 1(c)",
            "evidenced"
            if releases and history.get("repository")
            else ("partial" if evidence else "missing"),
            evidence,
            "" if releases else "tag a release in git",
        )  # fmt: skip
    )

    evidence = []
    if arch.get("class"):
        evidence.append(f"architecture `{arch['class']}` from {arch.get('source')}:architectures")
    if params.get("total"):
        evidence.append(
            f"{params['total']:,} parameters from safetensors headers ({', '.join(params.get('files', []))})"
        )
    items.append(
        _item(
            "architecture",
            "Architecture and parameter count",
            "Annex XI 1(d); Annex XII 1(f)",
            "evidenced" if len(evidence) == 2 else ("partial" if evidence else "missing"),
            evidence,
        )  # fmt: skip
    )

    evidence = modality_evidence(facts)
    if tok.get("files"):
        evidence.append(f"tokenizer files {', '.join(f'`{f}`' for f in tok['files'])}")
    if tok.get("chat_template"):
        evidence.append(f"chat template in `{tok['chat_template']['file']}`")
    items.append(
        _item(
            "modality",
            "Modality and input/output formats",
            "Annex XI 1(e); Annex XII 1(g), 2(b)",
            "evidenced"
            if facts.get("inputs")
            and facts.get("outputs")
            and (tok.get("files") or all(i["value"] != "text" for i in facts["inputs"]))
            else ("partial" if evidence else "missing"),
            evidence,
        )  # fmt: skip
    )

    window = arch.get("context_window")
    evidence = (
        [f"{window:,} tokens from {arch.get('source')}:max_position_embeddings"] if window else []
    )
    if tok.get("model_max_length"):
        evidence.append(f"tokenizer model_max_length {tok['model_max_length']:,}")
    items.append(
        _item(
            "context_window",
            "Context window",
            "Annex XII 2(b)",
            "evidenced" if window else "missing",
            evidence,
        )  # fmt: skip
    )

    lic = ctx.get("license") or {}
    evidence = []
    if lic.get("id"):
        source = (
            "the base model's card (inherited)"
            if lic.get("inherited")
            else "README.md front matter"
        )
        evidence.append(f"`{lic['id']}` from {source}")
    items.append(
        _item(
            "license",
            "Licence",
            "Annex XI 1(f); Annex XII 1(h)",
            "evidenced" if lic.get("id") else "missing",
            evidence,
        )  # fmt: skip
    )

    evidence = []
    if training.get("files"):
        evidence.append(
            f"{training.get('global_step')} steps, {training.get('epochs')} epochs from "
            f"{', '.join(training.get('files', []))}"
        )
    if ctx.get("adapter"):
        evidence.append(f"PEFT method `{ctx['adapter'].get('peft_type')}` from adapter_config.json")
    if training.get("recipe"):
        evidence.append(
            f"training recipe: {len(training['recipe'])} settings from "
            f"{', '.join(training.get('recipe_files', []))}"
        )
    procedure = _section(card_body, "Training Procedure", "Training procedure")
    if procedure:
        evidence.append(f"README.md section “{procedure[0]}”")
    items.append(
        _item(
            "training_method",
            "Training methodology and design choices",
            "Annex XI 2(b)",
            "evidenced"
            if procedure and (training or ctx.get("adapter"))
            else ("partial" if evidence else "missing"),
            evidence,
            ""
            if procedure
            else "describe the procedure in the card's “Training Procedure” section",
        )  # fmt: skip
    )

    datasets = ctx.get("datasets") or []
    data_section = _section(card_body, "Training Data", "Training data")
    evidence = (
        [f"datasets {', '.join(f'`{d}`' for d in datasets)} from README.md front matter"]
        if datasets
        else []
    )
    if data_section:
        evidence.append(f"README.md section “{data_section[0]}”")
    items.append(
        _item(
            "training_data",
            "Training data: type, provenance, curation",
            "Annex XI 2(c); Annex XII 2(c)",
            "evidenced" if datasets and data_section else ("partial" if evidence else "missing"),
            evidence,
            ""
            if data_section
            else "describe the data's origin and curation in a “Training Data” section",
        )  # fmt: skip
    )

    compute = fine_tune_compute(ctx) or {}
    evidence = []
    if compute.get("flop") is not None:
        evidence.append(
            f"{compute['flop']:.3g} FLOP by {compute['method_text']}, from "
            + ", ".join(f"{i['source']}" for i in compute["inputs"])
        )
    runtime = _find_result(training, "train_runtime")
    if runtime:
        evidence.append(f"training time {runtime[1]} s from {runtime[0]}:train_runtime")
    items.append(
        _item(
            "compute",
            "Computational resources used for training",
            "Annex XI 2(d)",
            "evidenced" if evidence else "missing",
            evidence,
        )  # fmt: skip
    )

    co2 = meta.get("co2_eq_emissions")
    items.append(
        _item(
            "energy",
            "Energy consumption (known or estimated)",
            "Annex XI 2(e)",
            "evidenced" if co2 else "missing",
            ["`co2_eq_emissions` in README.md front matter"] if co2 else [],
            "" if co2 else "add `co2_eq_emissions` to the card's front matter",
        )  # fmt: skip
    )
    return items


def _find_result(training: dict[str, Any], key: str) -> tuple[str, Any] | None:
    for name, values in (training.get("results") or {}).items():
        if key in values:
            return name, values[key]
    return None


NIST = (
    ("GOVERN 1.4", "Risk management is transparent, documented", ("tasks", "release")),
    ("GOVERN 6.1", "Third-party (supply-chain) risks addressed: base model, its revision, hashes", ("provenance",)),
    ("MAP 1.1", "Intended purposes and context of use documented", ("tasks", "acceptable_use")),
    ("MAP 2.1", "Tasks and methods defined", ("tasks", "training_method")),
    ("MAP 2.3", "Scientific integrity: data and training documented", ("training_data", "training_method")),
    ("MAP 4.1", "Legal risks of third-party components mapped (licences)", ("license",)),
    ("MEASURE 2.1", "Test sets, metrics and tools documented", ("evaluation",)),
    ("MEASURE 2.7", "Security and resilience evaluated (scanners, findings)", ("risks",)),
    ("MEASURE 2.12", "Environmental impact assessed and documented", ("compute", "energy")),
    ("MANAGE 4.3", "Changes communicated and tracked (change log, releases)", ("release", "changes")),
)  # fmt: skip


EXTRA_TITLES = {
    "provenance": "Provenance (base revision, file hashes)",
    "evaluation": "Evaluation results",
    "risks": "Risk register",
    "changes": "Change log and releases",
}


def nist_rows(ctx: dict[str, Any], items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    status = {i["key"]: i["status"] for i in items}
    prov = ctx.get("provenance") or {}
    status["provenance"] = (
        "evidenced"
        if prov.get("files") and prov.get("base") and (prov["base"] or {}).get("revision")
        else ("partial" if prov.get("files") else "missing")
    )
    status["evaluation"] = "evidenced" if ctx.get("evaluation") else "missing"
    status["risks"] = "evidenced"  # the register exists; empty means the scanners found nothing
    releases = (ctx.get("history") or {}).get("releases") or []
    status["changes"] = "evidenced" if releases else "missing"
    titles = {**{i["key"]: i["title"] for i in items}, **EXTRA_TITLES}
    rows = []
    for ref, outcome, keys in NIST:
        found = [status.get(k, "missing") for k in keys]
        overall = (
            "evidenced"
            if all(s == "evidenced" for s in found)
            else ("missing" if all(s == "missing" for s in found) else "partial")
        )
        rows.append(
            {
                "ref": ref,
                "outcome": outcome,
                "backed_by": [titles[k] for k in keys],
                "status": overall,
            }
        )
    return rows


HOW = {
    "tasks": "the task (`pipeline_tag`: the card's own, its model-index, the architecture or adapter_config.json) and an intended-use section written in the card",
    "acceptable_use": "an acceptable-use policy file shipped with the model; an “Out-of-Scope Use” section counts as partial",
    "release": "a release tag in git and the repository it is published from",
    "architecture": "config.json `architectures` and the parameter count from the safetensors headers",
    "modality": "the inputs and outputs the files state (the task, a processor config), and the tokenizer files (and chat template)",
    "context_window": "config.json `max_position_embeddings` (and the tokenizer's `model_max_length`)",
    "license": "the card's `license`, or the base model's when the fine-tune inherits it",
    "training_method": "the Trainer record or the adapter config, and a “Training Procedure” section in the card",
    "training_data": "the datasets named in the card, and a “Training Data” section on origin and curation",
    "compute": "the Trainer's `total_flos`, else (4·N_total + 2·N_trainable)·D for an adapter or 6·N·D for a full fine-tune, and `train_runtime`",
    "energy": "`co2_eq_emissions` in the card's front matter",
}  # fmt: skip


def mapping() -> dict[str, Any]:
    """The explanation shared by every model's compliance section: items, sources, NIST rows."""
    items = eu_ai_act_items({"model": {"name": ""}}, "")
    titles = {**{i["key"]: i["title"] for i in items}, **EXTRA_TITLES}
    return {
        "eu": [{"title": i["title"], "refs": i["refs"], "how": HOW[i["key"]]} for i in items],
        "nist": [
            {"ref": ref, "outcome": outcome, "backed_by": [titles[k] for k in keys]}
            for ref, outcome, keys in NIST
        ],
    }


def compliance(ctx: dict[str, Any], card_body: str) -> dict[str, Any]:
    items = eu_ai_act_items(ctx, card_body)
    return {
        "documentation": items,
        "evidenced": sum(i["status"] == "evidenced" for i in items),
        "compute": fine_tune_compute(ctx),
        "nist": nist_rows(ctx, items),
    }
