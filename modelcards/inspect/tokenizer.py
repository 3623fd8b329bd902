"""Tokenizer facts from the files transformers writes, in the order transformers reads them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from modelcards.inspect.facts import AddedToken, TokenizerFacts
from modelcards.resolve.model_files import TOKENIZER_FILES
from modelcards.safeio.errors import ModelcardsError

SPECIAL_ROLES = (
    "bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token",
)  # fmt: skip

# tokenizer_config.json keys that set how the tokenizer pads and truncates when called
CALL_SETTINGS = (
    "max_length", "stride", "truncation_strategy", "truncation_side", "padding_side",
    "pad_to_multiple_of", "pad_token_type_id", "add_bos_token", "add_eos_token", "do_lower_case",
)  # fmt: skip

ReadJson = Callable[[str], Any]
ReadText = Callable[[str], str | None]


def _token_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("content"), str):
        return str(value["content"])
    return None


def read_tokenizer(
    present: set[str], read_json: ReadJson, read_text: ReadText, notes: list[str] | None = None
) -> TokenizerFacts | None:
    """`notes` receives what an optional file (tokenizer.json's added tokens) could not give."""
    files = tuple(name for name in TOKENIZER_FILES if name in present)
    if not files:
        return None
    config = (
        _mapping(read_json("tokenizer_config.json")) if "tokenizer_config.json" in present else {}
    )
    special_map = (
        _mapping(read_json("special_tokens_map.json"))
        if "special_tokens_map.json" in present
        else {}
    )

    special: dict[str, str] = {}
    additional: list[str] = []
    for source in (special_map, config):  # tokenizer_config.json wins, as in transformers
        for role in SPECIAL_ROLES:
            text = _token_text(source.get(role))
            if text is not None:
                special[role] = text
        extra = source.get("additional_special_tokens")
        if isinstance(extra, list):
            additional = [t for t in (_token_text(v) for v in extra) if t is not None]
        named = source.get("extra_special_tokens")
        if isinstance(named, dict):
            for role, value in named.items():
                text = _token_text(value)
                if text is not None:
                    special[str(role)] = text
        elif isinstance(named, list):
            for text in map(_token_text, named):
                if text is not None and text not in additional:
                    additional.append(text)

    added: dict[int, AddedToken] = {}
    if "added_tokens.json" in present:
        for content, token_id in _mapping(read_json("added_tokens.json")).items():
            if isinstance(token_id, int):
                added[token_id] = AddedToken(token_id, str(content), special=content in additional)
    decoder = config.get("added_tokens_decoder")
    if isinstance(decoder, dict):
        for key, spec in decoder.items():
            if (
                str(key).isdigit()
                and isinstance(spec, dict)
                and isinstance(spec.get("content"), str)
            ):
                added[int(key)] = AddedToken(int(key), spec["content"], bool(spec.get("special")))

    if not added and "tokenizer.json" in present:  # older tokenizer_config.json: no decoder
        added = _fast_added_tokens(read_json, notes if notes is not None else [])
    templates, template_file = _chat_templates(present, config, read_json, read_text)
    max_length = config.get("model_max_length")
    tokenizer_class = config.get("tokenizer_class")
    return TokenizerFacts(
        special_tokens=dict(sorted(special.items())),
        additional_special_tokens=tuple(additional),
        added_tokens=tuple(added[i] for i in sorted(added)),
        model_max_length=max_length
        if isinstance(max_length, int) and max_length < 10**12
        else None,
        tokenizer_class=tokenizer_class if isinstance(tokenizer_class, str) else None,
        chat_templates=templates,
        chat_template_file=template_file,
        files=files,
        settings={k: config[k] for k in CALL_SETTINGS if k in config and _scalar(config[k])},
    )


def _chat_templates(
    present: set[str], config: Mapping[str, Any], read_json: ReadJson, read_text: ReadText
) -> tuple[dict[str, str], str | None]:
    """Chat templates by name; `chat_template.jinja` beats `.json` beats tokenizer_config.json."""
    if "chat_template.jinja" in present:
        text = read_text("chat_template.jinja")
        if text is not None:
            return {"default": text}, "chat_template.jinja"
    if "chat_template.json" in present:
        value = _mapping(read_json("chat_template.json")).get("chat_template")
        templates = _template_value(value)
        if templates:
            return templates, "chat_template.json"
    templates = _template_value(config.get("chat_template"))
    if templates:
        return templates, "tokenizer_config.json"
    return {}, None


def _template_value(value: Any) -> dict[str, str]:
    if isinstance(value, str):
        return {"default": value}
    if isinstance(value, list):
        return {
            str(item["name"]): item["template"]
            for item in value
            if isinstance(item, dict) and isinstance(item.get("template"), str) and "name" in item
        }
    return {}


def _fast_added_tokens(read_json: ReadJson, notes: list[str]) -> dict[int, AddedToken]:
    """tokenizer.json's `added_tokens` (id, content, special), the fast tokenizer's own record."""
    try:
        data = read_json("tokenizer.json")
    except ModelcardsError as exc:
        notes.append(f"tokenizer.json: {exc.reason}; its added tokens left out")
        return {}
    rows = data.get("added_tokens") if isinstance(data, dict) else None
    found: dict[int, AddedToken] = {}
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, dict):
            continue
        token_id, content = row.get("id"), row.get("content")
        if (
            isinstance(token_id, int)
            and not isinstance(token_id, bool)
            and isinstance(content, str)
        ):
            found[token_id] = AddedToken(token_id, content, bool(row.get("special")))
    return found


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}
