"""What an added token is for, from its text alone: a reserved placeholder, or a token that
defines the output format (thinking tags, tool calls, turn markers).

General patterns, not a list per model: a tokenizer we have never seen is judged the same way.
A placeholder's name carries no meaning, so renaming one changes nothing a model does; a format
token's presence tells a reader how the model's output is shaped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from modelcards.inspect.facts import AddedToken

__all__ = ["FORMAT_KINDS", "format_kind", "format_tokens", "is_placeholder"]

# <|reserved_special_token_5|>, [unused12], <extra_id_3>, <unused42>, <|placeholder7|>, <|dummy_3|>
PLACEHOLDER = re.compile(
    r"^\W*(reserved|unused|placeholder|extra_id|dummy|special_token)[\w-]*?\d+\W*$", re.IGNORECASE
)
# the name inside the brackets: <|eot_id|> -> eot_id, </think> -> think, [INST] -> INST
_NAME = re.compile(r"^[<\[]\|?/?\s*([A-Za-z][\w-]*)\s*\|?[>\]]$")
FORMAT_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("thinking", re.compile(r"^(think|thinking|thought|thoughts|reason|reasoning|scratchpad)$", re.I)),
    ("tool-call", re.compile(
        r"^(tool_?calls?|tool_?call_(begin|end|sep)|tool_?response|tool_?results?|tools|"
        r"function_?calls?|functions?|python_tag|ipython|code_interpreter|api_?call)$", re.I)),
    ("turn", re.compile(
        r"^(eot|eot_id|eom|eom_id|im_start|im_end|start_header_id|end_header_id|start_of_turn|"
        r"end_of_turn|endofturn|user|assistant|system|end|inst|sys|"
        r"start_of_role|end_of_role|turn|turn_start|turn_end)$", re.I)),
)  # fmt: skip


def is_placeholder(content: str) -> bool:
    """A reserved slot's name: a word like reserved/unused and a number, nothing else."""
    return bool(PLACEHOLDER.match(content.strip()))


def format_kind(content: str) -> str | None:
    """ "thinking", "tool-call" or "turn" when the token's name says it shapes the output."""
    if is_placeholder(content):
        return None
    match = _NAME.match(content.strip())
    if match is None:
        return None
    name = match.group(1)
    for kind, pattern in FORMAT_KINDS:
        if pattern.match(name):
            return kind
    return None


def format_tokens(tokens: Iterable[AddedToken]) -> list[dict[str, object]]:
    """The added tokens that define the output format, by id: {id, content, kind}."""
    rows = []
    for token in sorted(tokens, key=lambda t: t.id):
        kind = format_kind(token.content)
        if kind is not None:
            rows.append({"id": token.id, "content": token.content, "kind": kind})
    return rows
