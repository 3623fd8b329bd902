"""What card.json and the technical block say about a tokenizer beyond its files: the tokens
that define the output format, and what the chat template does (read statically, never run)."""

from __future__ import annotations

from typing import Any

from modelcards.inspect.chat_template import analyse_template
from modelcards.inspect.facts import TokenizerFacts
from modelcards.inspect.token_roles import format_tokens

__all__ = ["tokenizer_behaviour"]


def tokenizer_behaviour(tok: TokenizerFacts) -> dict[str, Any]:
    """`format_tokens` (id, content, kind: thinking, tool-call, turn) and, per chat template
    name, its behaviour; both from the file the tokenizer was read from."""
    file = "tokenizer_config.json" if "tokenizer_config.json" in tok.files else None
    return {
        "format_tokens": [{**row, "file": file} for row in format_tokens(tok.added_tokens)],
        "chat_template_behaviour": {
            name: {**analyse_template(source).as_json(), "file": tok.chat_template_file}
            for name, source in sorted(tok.chat_templates.items())
        },
    }
