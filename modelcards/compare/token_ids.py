"""Added tokens compared id by id, because the embedding matrix is indexed by id, not by name.

A token renamed at the same id keeps its embedding row; only a new id, a removed id or a token
that moved to another id changes how tokenizer and embeddings line up. Renaming reserved
placeholders (Llama 3 → 3.1 renumbered 246 of them) is bookkeeping, not a change of the model.
"""

from __future__ import annotations

from collections.abc import Iterable

from modelcards.compare.model import Change
from modelcards.inspect.facts import AddedToken
from modelcards.inspect.token_roles import is_placeholder

__all__ = ["added_token_changes"]

SHOWN = 8


def _shown(rows: list[str]) -> str:
    return ", ".join(rows[:SHOWN]) + (" …" if len(rows) > SHOWN else "")


def added_token_changes(
    base: Iterable[AddedToken],
    tuned: Iterable[AddedToken],
    *,
    base_vocab: int | None,
    tuned_vocab: int | None,
    file: str = "tokenizer_config.json",
) -> list[Change]:
    """Changes of id → token; `*_vocab` (config.json vocab_size) says which ids have a row."""
    ids_b = {t.id: t.content for t in base}
    ids_a = {t.id: t.content for t in tuned}
    where_b = {content: i for i, content in ids_b.items()}
    where_a = {content: i for i, content in ids_a.items()}
    moved = sorted(
        (c for c in where_a if c in where_b and where_a[c] != where_b[c] and not is_placeholder(c)),
        key=lambda c: where_a[c],
    )
    moved_set = set(moved)
    renamed = [
        (i, ids_b[i], ids_a[i])
        for i in sorted(set(ids_b) & set(ids_a))
        if ids_b[i] != ids_a[i] and not {ids_b[i], ids_a[i]} & moved_set
    ]
    only_a = [i for i in sorted(set(ids_a) - set(ids_b)) if ids_a[i] not in moved_set]
    only_b = [i for i in sorted(set(ids_b) - set(ids_a)) if ids_b[i] not in moved_set]
    # an id the other side's embedding already has is a row listed (or no longer listed) as an
    # added token, not a row that appeared or vanished
    new = [i for i in only_a if base_vocab is None or i >= base_vocab]
    gone = [i for i in only_b if tuned_vocab is None or i >= tuned_vocab]
    listed = [i for i in only_a if i not in new]
    unlisted = [i for i in only_b if i not in gone]
    changes: list[Change] = []
    if new or gone:
        parts = []
        if new:
            shown = [f"{i}: {ids_a[i]}" for i in new]
            rows = (
                "new embedding rows"
                if base_vocab is not None
                else "not among the base's added tokens; its vocab_size is not known"
            )
            parts.append(f"{len(new)} token ids added: {_shown(shown)} ({rows})")
        if gone:
            shown = [f"{i}: {ids_b[i]}" for i in gone]
            parts.append(f"{len(gone)} token ids removed: {_shown(shown)}")
        changes.append(Change(
            "tokenizer", "added_tokens", [f"{i}: {ids_b[i]}" for i in gone],
            [f"{i}: {ids_a[i]}" for i in new], True, "; ".join(parts), file,
        ))  # fmt: skip
    if moved:
        shown = [f"{c} {where_b[c]} → {where_a[c]}" for c in moved]
        changes.append(Change(
            "tokenizer", "added_tokens.ids", {c: where_b[c] for c in moved},
            {c: where_a[c] for c in moved}, True,
            f"{len(moved)} tokens moved to other ids (embeddings no longer line up): {_shown(shown)}",
            file,
        ))  # fmt: skip
    named = [r for r in renamed if not (is_placeholder(r[1]) and is_placeholder(r[2]))]
    placeholders = [r for r in renamed if r not in named]
    if named:
        shown = [f"{i}: {b} → {a}" for i, b, a in named]
        changes.append(Change(
            "tokenizer", "added_tokens.renamed", {i: b for i, b, _ in named},
            {i: a for i, _, a in named}, True,
            f"{len(named)} tokens renamed at the same id (embeddings still line up; what the id "
            f"stands for changed): {_shown(shown)}",
            file,
        ))  # fmt: skip
    if placeholders:
        shown = [f"{i}: {b} → {a}" for i, b, a in placeholders]
        changes.append(Change(
            "tokenizer", "added_tokens.placeholders", {i: b for i, b, _ in placeholders},
            {i: a for i, _, a in placeholders}, False,
            f"{len(placeholders)} reserved placeholder tokens renamed at the same ids (names "
            f"only: every id and embedding row is intact): {_shown(shown)}",
            file,
        ))  # fmt: skip
    if listed or unlisted:
        parts = []
        if listed:
            shown = [f"{i}: {ids_a[i]}" for i in listed]
            parts.append(f"{len(listed)} tokens now listed as added tokens at ids the base's "
                         f"vocabulary already has ({_shown(shown)})")  # fmt: skip
        if unlisted:
            shown = [f"{i}: {ids_b[i]}" for i in unlisted]
            parts.append(f"{len(unlisted)} tokens no longer listed as added tokens, their ids "
                         f"still in the vocabulary ({_shown(shown)})")  # fmt: skip
        changes.append(Change(
            "tokenizer", "added_tokens.listed", [f"{i}: {ids_b[i]}" for i in unlisted],
            [f"{i}: {ids_a[i]}" for i in listed], False,
            "; ".join(parts) + ": no embedding row added or removed", file,
        ))  # fmt: skip
    return changes
