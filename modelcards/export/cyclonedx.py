"""A CycloneDX 1.6 ML-BOM for one model, built from its card context (the data of card.json).

The model is a `machine-learning-model` component with a `modelCard`, the SHA-256 of its weight
files (every file is a nested `file` component with its own hash), its base model as
`pedigree.ancestors` (revision and hashes), references to the card and the site, and the Model
Documentation Form's key items as `modelcards:eu:` properties of the model card. Output is
deterministic: no timestamp, and the serial number is derived from the BOM's own content.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from modelcards.resolve.hubid import split_hub_reference

SPEC_VERSION = "1.6"
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".gguf", ".onnx", ".h5",
                   ".msgpack", ".npz")  # fmt: skip
ETHICAL_WORDS = ("licen", "safety", "bias", "data", "chat", "template", "privacy", "toxic")
EU_KEY_ITEMS = frozenset({
    "provider_name", "provider_contact", "market_date", "release_date", "dependencies",
    "total_model_size", "max_input", "max_output", "licence", "acceptable_use_policy",
    "hardware", "software", "data_points", "training_time", "compute",
})  # fmt: skip
SERIAL_NAMESPACE = uuid.UUID("6b1f3c1e-8f0a-5d7e-9c2b-6d6f64656c63")  # fixed: modelcards BOMs


def _hash(sha256: str | None) -> list[dict[str, str]]:
    return [{"alg": "SHA-256", "content": sha256}] if sha256 else []


def _is_weights(path: str) -> bool:
    return path.lower().endswith(WEIGHT_SUFFIXES)


def _file_components(prefix: str, files: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for f in files:
        component: dict[str, Any] = {
            "type": "file",
            "bom-ref": f"{prefix}:file:{f['path']}",
            "name": f["path"],
            "hashes": _hash(f.get("sha256")),
            "properties": [{"name": "modelcards:size", "value": str(f.get("size"))}],
        }
        if f.get("lfs_pointer"):
            component["properties"].append({"name": "modelcards:git-lfs-pointer", "value": "true"})
        if not component["hashes"]:
            del component["hashes"]
        out.append(component)
    return out


def _weight_hashes(files: list[dict[str, Any]]) -> list[dict[str, str]]:
    chosen = [f for f in files if _is_weights(f["path"])] or files
    hashes: list[dict[str, str]] = []
    for f in chosen:
        for h in _hash(f.get("sha256")):
            if h not in hashes:
                hashes.append(h)
    return hashes


def _purl(hub_id: str | None, revision: str | None) -> str | None:
    if not hub_id or split_hub_reference(hub_id) is None:
        return None
    name = hub_id.split("@", 1)[0]
    return f"pkg:huggingface/{name}" + (f"@{revision}" if revision else "")


def _considerations(ctx: dict[str, Any], use_cases: list[str]) -> dict[str, Any]:
    ethical, technical = [], []
    for risk in ctx.get("risks") or []:
        if not isinstance(risk, dict):
            continue
        state = " (waived)" if risk.get("waived") else ""
        text = f"{risk.get('rule')} [{risk.get('severity')}]{state}: {risk.get('message')}"
        words = f"{risk.get('rule')} {risk.get('message')}".lower()
        if any(w in words for w in ETHICAL_WORDS):
            entry = {"name": text}
            if risk.get("recommendation"):
                entry["mitigationStrategy"] = str(risk["recommendation"])
            ethical.append(entry)
        else:
            technical.append(text)
    result: dict[str, Any] = {}
    if use_cases:
        result["useCases"] = use_cases
    if technical:
        result["technicalLimitations"] = technical
    if ethical:
        result["ethicalConsiderations"] = ethical
    return result


def _model_card(ctx: dict[str, Any], use_cases: list[str]) -> dict[str, Any]:
    arch = ctx.get("architecture") or {}
    task = (ctx.get("metadata") or {}).get("pipeline_tag")
    params: dict[str, Any] = {}
    if task:
        params["task"] = task
    if arch.get("model_type"):
        params["architectureFamily"] = arch["model_type"]
    if arch.get("class"):
        params["modelArchitecture"] = arch["class"]
    datasets = [{"type": "dataset", "name": str(d)} for d in ctx.get("datasets") or []]
    if datasets:
        params["datasets"] = datasets
    stated = ctx.get("task") or {}
    for side in ("inputs", "outputs"):  # only what a file states (card.json `task`)
        if stated.get(side):
            params[side] = [{"format": item["value"]} for item in stated[side]]
    card: dict[str, Any] = {"bom-ref": f"model:{ctx['model']['name']}:card"}
    if params:
        card["modelParameters"] = params
    metrics = [
        {
            "type": str(e.get("key") or e.get("metric")),  # as written: eval_loss, test_f1
            "value": str(e.get("value")),
            **({"slice": str(e["dataset"])} if e.get("dataset") else {}),
        }
        for e in ctx.get("evaluation") or []
        if e.get("metric") is not None
    ]
    if metrics:
        card["quantitativeAnalysis"] = {"performanceMetrics": metrics}
    considerations = _considerations(ctx, use_cases)
    if considerations:
        card["considerations"] = considerations
    eu = eu_properties(ctx.get("model_documentation"))
    if eu:
        card["properties"] = eu
    return card


def _plain(value: Any) -> str:
    if isinstance(value, dict):
        if "text" in value:
            return str(value["text"])
        return ", ".join(f"{k} {_plain(v)}" for k, v in sorted(value.items()))
    if isinstance(value, list):
        return ", ".join(_plain(v) for v in value)
    return str(value)


def eu_properties(form: Any) -> list[dict[str, str]]:
    """The Model Documentation Form's key items as `modelcards:eu:<item>` properties of the
    model card, those the files gave and those a person drafts or provides listed by key.
    CycloneDX's own EU AI Act mapping (an appendix of its ML-BOM guide) is a draft we could not
    read; where 1.6 has a field for an item the BOM already uses it (name, version, hashes,
    licences, ancestors, architecture, inputs and outputs), the rest are properties."""
    if not isinstance(form, dict):
        return []
    items = [i for s in form.get("sections") or [] for i in s.get("items") or []]
    properties = [
        {"name": f"modelcards:eu:{i['key']}", "value": _plain(i["value"])}
        for i in items
        if i.get("key") in EU_KEY_ITEMS and i.get("status") != "to_provide"
    ]
    for status in ("drafted", "to_provide"):
        keys = [i["key"] for i in items if i.get("status") == status]
        if keys:
            properties.append({"name": f"modelcards:eu:{status}", "value": ", ".join(keys)})
    return properties


def _ancestor(ctx: dict[str, Any]) -> dict[str, Any] | None:
    base = ctx.get("base")
    if not base:
        return None
    prov = (ctx.get("provenance") or {}).get("base") or {}
    revision = prov.get("revision") or base.get("revision")
    name = base.get("id") or base.get("path")
    component: dict[str, Any] = {
        "type": "machine-learning-model",
        "bom-ref": f"base:{name}",
        "name": name,
    }
    if revision:
        component["version"] = revision
    purl = _purl(base.get("id"), revision)
    if purl:
        component["purl"] = purl
    files = (ctx.get("provenance") or {}).get("base_files") or []
    hashes = _weight_hashes(files)
    if hashes:
        component["hashes"] = hashes
    if files:
        component["components"] = _file_components(f"base:{name}", files)
    if base.get("license"):
        component["licenses"] = [{"license": {"name": str(base["license"])}}]
    return component


def build_bom(
    ctx: dict[str, Any], *, use_cases: list[str] | None = None, site_url: str | None = None
) -> dict[str, Any]:
    """The BOM as a JSON-ready dict. `site_url`: where the audit site is published, if anywhere."""
    name = ctx["model"]["name"]
    files = (ctx.get("provenance") or {}).get("files") or []
    model: dict[str, Any] = {
        "type": "machine-learning-model",
        "bom-ref": f"model:{name}",
        "name": name,
    }
    releases = [r for r in (ctx.get("history") or {}).get("releases", []) if r.get("tag")]
    if releases:
        model["version"] = releases[0]["tag"]
    hashes = _weight_hashes(files)
    if hashes:
        model["hashes"] = hashes
    license_id = (ctx.get("license") or {}).get("id")
    if license_id:
        model["licenses"] = [{"license": {"name": str(license_id)}}]
    ancestor = _ancestor(ctx)
    if ancestor:
        model["pedigree"] = {"ancestors": [ancestor]}
    path = ctx["model"]["path"]
    refs = [
        {"type": "documentation", "url": f"{path}/README.md", "comment": "model card"},
        {"type": "documentation", "url": f"{path}/CHANGES.md", "comment": "change log"},
        {"type": "bom", "url": f"{path}/card.json", "comment": "modelcards card.json facts"},
    ]
    if site_url:
        refs.append(
            {
                "type": "documentation",
                "url": f"{site_url.rstrip('/')}/models/{_slug(name)}/",
                "comment": "audit site",
            }
        )
    repository = (ctx.get("provenance") or {}).get("repository")
    if isinstance(repository, str) and repository.startswith(("https://", "http://")):
        refs.append({"type": "vcs", "url": repository})
    model["externalReferences"] = refs
    model["modelCard"] = _model_card(ctx, use_cases or [])
    properties = [
        {"name": "modelcards:relation", "value": str(ctx["model"].get("relation"))},
        {"name": "modelcards:path", "value": path},
    ]
    params = (ctx.get("parameters") or {}).get("total")
    if params:
        properties.append({"name": "modelcards:parameters", "value": str(params)})
    commit = (ctx.get("provenance") or {}).get("commit")
    if commit:
        properties.append({"name": "modelcards:commit", "value": commit})
    model["properties"] = properties
    if files:
        model["components"] = _file_components(f"model:{name}", files)
    tool = ctx.get("tool") or {}
    bom: dict[str, Any] = {
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "version": 1,
        "metadata": {
            "tools": {
                "components": [
                    {
                        "type": "application",
                        "name": str(tool.get("name", "modelcards")),
                        "version": str(tool.get("version", "")),
                    }
                ]
            },
        },
        "components": [model],
    }
    digest = hashlib.sha256(to_json(bom).encode()).hexdigest()
    return {
        "bomFormat": bom["bomFormat"],
        "specVersion": SPEC_VERSION,
        "serialNumber": f"urn:uuid:{uuid.uuid5(SERIAL_NAMESPACE, digest)}",
        **{k: v for k, v in bom.items() if k not in ("bomFormat", "specVersion")},
    }


def _slug(name: str) -> str:
    from modelcards.publish.site import slug

    return slug(name)


def to_json(bom: dict[str, Any]) -> str:
    return json.dumps(bom, indent=2, ensure_ascii=False) + "\n"
