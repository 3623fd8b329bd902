"""Changes in the tokenizer: special and added tokens, context length, class, chat templates."""

from __future__ import annotations

import difflib

from modelcards.compare.keys import added_removed, describe
from modelcards.compare.model import Change
from modelcards.compare.token_ids import added_token_changes
from modelcards.compare.tokenizer_settings import setting_changes
from modelcards.inspect.facts import TokenizerFacts

__all__ = ["tokenizer_changes"]


def tokenizer_changes(
    base: TokenizerFacts | None,
    tuned: TokenizerFacts | None,
    *,
    base_vocab: int | None = None,
    tuned_vocab: int | None = None,
    tuned_is_adapter: bool = False,
) -> list[Change]:
    """`*_vocab` is config.json's vocab_size (which ids have an embedding row); an adapter
    ships no tokenizer of its own, so a tokenizer only the base has is no change."""
    if base is None or tuned is None:
        if base is None and tuned is None or (tuned is None and tuned_is_adapter):
            return []
        present = "tuned" if tuned else "base"
        return [
            Change(
                "tokenizer",
                "files",
                base and list(base.files),
                tuned and list(tuned.files),
                True,
                f"tokenizer files present only in the {present} model",
            )
        ]
    changes: list[Change] = []
    file = "tokenizer_config.json"
    for role in sorted(set(base.special_tokens) | set(tuned.special_tokens)):
        b, a = base.special_tokens.get(role), tuned.special_tokens.get(role)
        if b != a:
            changes.append(
                Change(
                    "tokenizer",
                    f"special_tokens.{role}",
                    b,
                    a,
                    True,
                    describe(role.replace("_", " "), b, a),
                    file,
                )
            )
    extra_b, extra_a = set(base.additional_special_tokens), set(tuned.additional_special_tokens)
    if extra_b != extra_a:
        added, removed = sorted(extra_a - extra_b), sorted(extra_b - extra_a)
        changes.append(
            Change(
                "tokenizer",
                "additional_special_tokens",
                sorted(extra_b),
                sorted(extra_a),
                True,
                added_removed("additional special tokens", added, removed),
                file,
            )
        )
    changes += added_token_changes(
        base.added_tokens, tuned.added_tokens, base_vocab=base_vocab, tuned_vocab=tuned_vocab
    )
    if base.model_max_length != tuned.model_max_length:
        changes.append(
            Change(
                "context",
                "model_max_length",
                base.model_max_length,
                tuned.model_max_length,
                True,
                describe("model_max_length", base.model_max_length, tuned.model_max_length),
                file,
            )
        )
    if base.tokenizer_class != tuned.tokenizer_class:
        reason = (
            None if base.tokenizer_class and tuned.tokenizer_class else "only one side names it"
        )
        changes.append(
            Change(
                "tokenizer",
                "tokenizer_class",
                base.tokenizer_class,
                tuned.tokenizer_class,
                reason is None,
                describe("tokenizer class", base.tokenizer_class, tuned.tokenizer_class),
                file,
            )
        )
    changes += setting_changes(base.settings, tuned.settings, file)
    changes += _chat_template_changes(base, tuned)
    return changes


def _chat_template_changes(base: TokenizerFacts, tuned: TokenizerFacts) -> list[Change]:
    changes = []
    for name in sorted(set(base.chat_templates) | set(tuned.chat_templates)):
        b, a = base.chat_templates.get(name), tuned.chat_templates.get(name)
        key = "chat_template" if name == "default" else f"chat_template.{name}"
        file = tuned.chat_template_file if a is not None else base.chat_template_file
        if b == a:
            continue
        if b is None:
            lines = len(a.splitlines())  # type: ignore[union-attr]
            meaning = (
                f"chat template added ({lines} line{'s' if lines != 1 else ''}): conversation "
                "formatting and safety behaviour now follow it"
            )
        elif a is None:
            meaning = "chat template removed: callers fall back to their own formatting"
        else:
            ratio = difflib.SequenceMatcher(None, b, a).ratio()
            meaning = f"chat template rewritten ({100 * (1 - ratio):.0f}% of it differs)"
        meaning += behaviour_change(b, a)
        diff = "".join(difflib.unified_diff(
            (b or "").splitlines(keepends=True), (a or "").splitlines(keepends=True),
            fromfile=f"base/{base.chat_template_file or file}", tofile=f"tuned/{file}",
        ))  # fmt: skip
        changes.append(Change("chat-template", key, b, a, True, meaning, file, detail=diff))
    if (
        base.chat_template_file
        and tuned.chat_template_file
        and base.chat_template_file != tuned.chat_template_file
        and not changes
    ):
        changes.append(
            Change(
                "chat-template",
                "chat_template.file",
                base.chat_template_file,
                tuned.chat_template_file,
                False,
                "chat template moved to another file, unchanged",
            )
        )
    return changes


def behaviour_change(before: str | None, after: str | None) -> str:
    """What the template does that it did not (read statically, never rendered)."""
    from modelcards.inspect.chat_template import analyse_template  # Jinja2: only for templates

    old = analyse_template(before).summary() if before is not None else []
    new = analyse_template(after).summary() if after is not None else []
    if before is None:
        return ("; read statically, it " + "; ".join(new)) if new else ""
    parts = [f"now {line}" for line in new if line not in old]
    parts += [f"no longer {line}" for line in old if line not in new]
    return ("; " + "; ".join(parts)) if parts else ""
