"""One model rendered: its context → README.md (HF card), CHANGES.md, card.json and the EU
documents (MODEL-DOCUMENTATION.md, TRAINING-CONTENT.md)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modelcards.inspect import MAX_TEXT_BYTES
from modelcards.render.card_file import compose_card
from modelcards.render.context import ModelInputs, build_context
from modelcards.render.environment import make_environment, render_template
from modelcards.render.escape import code
from modelcards.render.eu_markdown import document_files, document_names
from modelcards.render.fingerprint import embed, front_matter_of, outputs_fingerprint
from modelcards.safeio.errors import RenderError
from modelcards.safeio.jsonfile import json_safe

if TYPE_CHECKING:
    from jinja2.sandbox import SandboxedEnvironment

__all__ = ["ModelInputs", "RenderedModel", "build_context", "make_environment", "render_model"]


@dataclass(frozen=True)
class RenderedModel:
    name: str
    path: str  # the model folder, relative to the project root
    context: dict[str, Any]
    card: str  # README.md
    changes: str  # CHANGES.md
    card_json: str
    heatmap: str | None = None  # weight-changes.svg, when tensor contents were compared

    def file_names(self) -> list[str]:
        """The project-relative paths `files` writes, without rendering the EU documents (a
        build lists the files of every unchanged model of a fleet)."""
        names = ["README.md", "CHANGES.md", "card.json"]
        names += ["weight-changes.svg"] if self.heatmap is not None else []
        return [f"{self.path}/{name}" for name in names + list(document_names(self.context))]

    def files(self) -> dict[str, str]:
        files = {
            f"{self.path}/README.md": self.card,
            f"{self.path}/CHANGES.md": self.changes,
            f"{self.path}/card.json": self.card_json,
        }
        if self.heatmap is not None:
            files[f"{self.path}/weight-changes.svg"] = self.heatmap
        for name, text in document_files(self.context).items():  # from card.json: same bytes
            files[f"{self.path}/{name}"] = text
        return files


def to_json(data: Any) -> str:
    """card.json: valid JSON even where a diverged run logged NaN (written as the string "NaN")."""
    return (
        json.dumps(json_safe(data), indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False)
        + "\n"
    )


def template_fills(context: dict[str, Any]) -> dict[str, str]:
    """What fills a model-card template's `[More Information Needed]` fields (card_layout)."""
    meta = context["metadata"]
    language = meta.get("language")
    adapter = context["adapter"] or {}
    model_type = context["architecture"]["class"]
    if adapter.get("peft_type"):
        model_type = f"{adapter['peft_type']} adapter" + (
            f" for {model_type}" if model_type else ""
        )
    values = {
        "license": context["license"]["id"],
        "base_model": (context["base"] or {}).get("id"),
        "language": ", ".join(map(str, language)) if isinstance(language, list) else language,
        "model_type": model_type,
        "repository": context["provenance"].get("repository"),
    }
    return {key: str(code(value)) for key, value in values.items() if value}


def render_model(
    inputs: ModelInputs,
    env: SandboxedEnvironment,
    existing_card: str | None,
    inputs_fingerprint: Callable[[str], str],
) -> RenderedModel:
    """Render the three files of one model.

    `inputs_fingerprint` maps the new card's front matter to the inputs fingerprint (the front
    matter is an input as written, so a rebuild reproduces the same value).
    """
    context = build_context(inputs)
    body = render_template(env, "card.md.j2", context)
    licence = context["license"]
    card = compose_card(
        context["metadata"],
        body,
        existing_card,
        file=f"{inputs.entry.path}/README.md",
        from_base=frozenset({"license"}) if licence["id"] and not licence["own"] else frozenset(),
        fills=template_fills(context),
        from_files=frozenset({"model-index"} & set(context["metadata"])),
    )
    if len(card.encode("utf-8")) > MAX_TEXT_BYTES:  # what the next build would refuse to read
        raise RenderError(
            f"the card would be larger than {MAX_TEXT_BYTES:,} bytes (the author's own sections "
            "are kept whole: shorten them)",
            file=f"{inputs.entry.path}/README.md",
        )
    context["fingerprint"] = inputs_fingerprint(front_matter_of(card))
    changes = render_template(env, "changes.md.j2", context)
    card_json = to_json(context)
    outputs = outputs_fingerprint(card, changes, card_json)
    return RenderedModel(
        name=inputs.entry.name,
        path=inputs.entry.path,
        # as card.json holds it, so the site reads the same values (and key order) whether the
        # model was rendered now or its unchanged files were taken as they are
        context=json.loads(card_json),
        card=embed(card, context["fingerprint"], outputs),
        changes=changes,
        card_json=card_json,
        heatmap=_heatmap(inputs),
    )


def _heatmap(inputs: ModelInputs) -> str | None:
    """weight-changes.svg, when tensor contents were compared (drawn only then)."""
    if inputs.deep is None:
        return None
    from modelcards.compare.heatmap import heatmap_svg

    return heatmap_svg(inputs.deep, title=f"{inputs.entry.name}: relative change by layer")
