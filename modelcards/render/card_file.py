"""The README.md on disk: HF front matter plus a body of human and generated parts.

Generated parts are fenced by `<!-- modelcards:begin NAME -->` / `<!-- modelcards:end NAME -->`.
On a rebuild, generated parts are replaced and every human part is kept as the person left it:
human text is keyed by the generated block it follows. Front matter goes through ruamel.yaml's
round trip, so a person's comments, key order and extra keys survive, and a key the author set
is never replaced or dropped: where the files contradict it, assess says so as a finding. Two
things are never published, being paths on someone's disk rather than facts for a reader: a
local path as `base_model`, and the `base_model:<relation>:<path>` tags peft derives from it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from modelcards.inspect.card import (
    GENERATED_NOTE,
    INHERITED_NOTE,
    generated_keys,
    inherited_keys,
    model_index_metrics,
    split_front_matter,
)
from modelcards.inspect.lineage import local_path_tags
from modelcards.render.card_blocks import BLOCK, parse_body
from modelcards.render.card_layout import Slot, finish, first_layout
from modelcards.resolve.hubid import classify_base_name
from modelcards.safeio.errors import RenderError
from modelcards.safeio.yamlsafe import dump_yaml, load_yaml

STRAY_MARKER = re.compile(r"<!-- modelcards:(begin|end) ([a-z0-9-]+) -->")


def check_markers(text: str, *, file: str) -> None:
    """A begin marker without its end (or an end without its begin) in a card on disk: where
    the generated part stops is unknown, so nothing is guessed (the person's text could be lost)."""
    blocks = [(m.start(), m.end()) for m in BLOCK.finditer(text)]
    for stray in STRAY_MARKER.finditer(text):
        if not any(start <= stray.start() < end for start, end in blocks):
            line = text.count("\n", 0, stray.start()) + 1
            raise RenderError(
                f"line {line}: `{stray.group(0)}` has no matching "
                f"{'end' if stray.group(1) == 'begin' else 'begin'} marker; restore it or delete "
                "the marker (the next build writes the block again)",
                file=file,
            )


def merge_body(rendered: str, existing: str | None, fills: Mapping[str, str] | None = None) -> str:
    """The newly rendered body laid out as the existing card has it (see `card_layout`)."""
    new_slots = [
        Slot(p.key if p.kind == "generated" else None, p.text) for p in parse_body(rendered)
    ]
    if existing is None or not existing.strip():
        layout = new_slots
    else:
        old_parts = parse_body(existing)
        if any(p.kind == "generated" for p in old_parts):
            layout = keep_layout(
                new_slots,
                [Slot(p.key if p.kind == "generated" else None, p.text) for p in old_parts],
            )
        else:  # a card written before modelcards (by a person or another tool): all of it kept
            layout = first_layout(new_slots, existing)
    return finish(layout, fills or {})


def keep_layout(new: list[Slot], old: list[Slot]) -> list[Slot]:
    """The existing card's order, each generated block replaced by its new text.

    A block the template no longer has goes (the text around it stays); a block new to the
    template follows the block before it in the template, after that block's human text.
    """
    fresh = {s.block: s for s in new if s.block is not None}
    layout = [fresh.get(s.block, s) if s.block is not None else s for s in old]
    layout = [s for s in layout if s.block is None or s.block in fresh]
    present = {s.block for s in layout if s.block is not None}
    previous: str | None = None
    for slot in new:
        if slot.block is None:
            continue
        if slot.block not in present:
            at = 0
            if previous is not None:
                at = next(i for i, s in enumerate(layout) if s.block == previous) + 1
                if at < len(layout) and layout[at].block is None:
                    at += 1
            layout[at:at] = [slot, Slot(None, "\n")]
            present.add(slot.block)
        previous = slot.block
    return layout


def merge_front_matter(
    generated: Mapping[str, Any],
    existing_text: str | None,
    *,
    file: str,
    from_base: frozenset[str] = frozenset(),
    from_files: frozenset[str] = frozenset(),
) -> str:
    """Front matter YAML: the existing (round-tripped) with generated keys filled in.

    `from_base`: generated keys whose value is the base's (an inherited licence). Written,
    they carry `INHERITED_NOTE` as a comment, and a value so marked follows the base on every
    build (or goes when the base has none) until a person deletes the comment. `from_files`:
    keys written from the model's own files (the model-index), marked `GENERATED_NOTE` and
    rewritten the same way. A model-index that states no metric (`results: []`) is none.
    """
    data: Any = CommentedMap()
    if existing_text and existing_text.strip():
        data = load_yaml(existing_text, file=file, error=RenderError, roundtrip=True)
        if not isinstance(data, CommentedMap):
            raise RenderError("front matter is not a YAML mapping", file=file)
    _unpublish_local_paths(data)
    marked = inherited_keys(existing_text) | generated_keys(existing_text)
    for key in marked - set(generated):
        if key in data:
            del data[key]  # the base or the files no longer give it
    for key, value in generated.items():
        if key == "tags" and isinstance(data.get(key), list):
            for tag in value:
                if tag not in data[key]:
                    data[key].append(tag)
        elif (
            key not in data
            or data[key] in (None, "", [])
            or key in marked
            or _none_stated(key, data[key])
        ):
            data[key] = _yaml_value(value)
            if key in marked or key in from_base or key in from_files:
                data.ca.items.pop(key, None)  # the mark says what the value is now
            if key in from_base:
                data.yaml_add_eol_comment(INHERITED_NOTE, key)
            elif key in from_files:
                data.yaml_add_eol_comment(GENERATED_NOTE, key)
    return dump_yaml(data)


def _none_stated(key: str, value: Any) -> bool:
    """A model-index with no metric in it (`results: []`) states no result: it may be filled."""
    return key == "model-index" and model_index_metrics(value) == 0


def _unpublish_local_paths(data: CommentedMap) -> None:
    """Drop local-path bases and their tags; write a Hub URL base as the id it names."""
    value = data.get("base_model")
    if value is not None:
        items = list(value) if isinstance(value, list) else [value]
        kept = [v for v in (_published_base(item) for item in items) if v is not None]
        if not kept:
            del data["base_model"]
        elif kept != items:
            data["base_model"] = _yaml_value(kept) if isinstance(value, list) else kept[0]
    tags = data.get("tags")
    for tag in local_path_tags(tags):
        tags.remove(tag)


def _published_base(value: Any) -> Any:
    named = classify_base_name(value) if isinstance(value, str) else None
    if named is None:
        return value  # not a base name modelcards can judge: the author's, as written
    return None if named.kind == "path" else named.reference


def _yaml_value(value: Any) -> Any:
    if isinstance(value, list):
        seq = CommentedSeq(_yaml_value(v) for v in value)
        return seq
    if isinstance(value, Mapping):
        mapping = CommentedMap()
        for k, v in value.items():
            mapping[k] = _yaml_value(v)
        return mapping
    return value


def compose_card(
    generated_meta: Mapping[str, Any],
    rendered_body: str,
    existing: str | None,
    *,
    file: str = "README.md",
    from_base: frozenset[str] = frozenset(),
    fills: Mapping[str, str] | None = None,
    from_files: frozenset[str] = frozenset(),
) -> str:
    front, body = split_front_matter(existing) if existing is not None else (None, None)
    if existing is not None:
        check_markers(existing, file=file)
    yaml_text = merge_front_matter(
        generated_meta, front, file=file, from_base=from_base, from_files=from_files
    )
    merged = merge_body(rendered_body, body, fills)
    return f"---\n{yaml_text}---\n{merged}"
