"""The card's body as a site page: the author's prose made inert, generated blocks linked out.

A card's prose may come from an upstream README: on the audit site no tag from it is live and no
link points into the model's repository (the site holds none of those files).
"""

from __future__ import annotations

import re

from modelcards.render.card_file import parse_body

__all__ = ["LINKED_BLOCKS", "inert_human_parts", "unlink_relative"]

# Generated card blocks that have a section of their own in the audit report: the card page links
# there instead of repeating them (less to read, and less Markdown for mkdocs to convert).
LINKED_BLOCKS = {
    "risks": (
        "Known risks",
        "report.md#risks",
        "the risk register, with evidence and recommendations",
    ),
    "training": ("Training Details", "report.md#training", "steps, loss and learning-rate curves"),
    "evaluation": ("Evaluation", "report.md#evaluation", "the evaluation metrics"),
    "changes": ("Changes from the base model", "report.md#changes", "every change, by area"),
    "provenance": (
        "Provenance",
        "report.md#provenance",
        "the file manifest with sizes and SHA-256",
    ),
    "changelog": ("Change log", "report.md#releases", "releases and their commits"),
}


# an inline link or image whose target has no scheme and is no anchor: a file of the model's
# own repository (`LICENSE`, `arxiv.org/abs/…` written without https://), not a page of the site
RELATIVE_LINK = re.compile(
    r"(?P<image>!?)\[(?P<text>[^\]\n]*)\]\((?P<target>(?![a-zA-Z][a-zA-Z0-9+.-]*:|#|/)[^)\s]+)"
    r"(?:\s+\"[^\"\n]*\")?\)"
)
RELATIVE_DEFINITION = re.compile(
    r"^(?P<lead> {0,3}\[[^\]\n]+\]:)\s*(?P<target>(?![a-zA-Z][a-zA-Z0-9+.-]*:|#|/)\S+).*$",
    re.MULTILINE,
)


def unlink_relative(text: str) -> str:
    """Links of an author's prose that point into the model's repository, as plain text (the
    site holds none of those files, and a broken link must not fail the whole site)."""
    text = RELATIVE_LINK.sub(lambda m: f"{m.group('text')} ({m.group('target')})", text)
    return RELATIVE_DEFINITION.sub(lambda m: "", text)


def inert_human_parts(
    body: str, *, link_out: bool = False, skip: frozenset[str] = frozenset()
) -> str:
    """The card body for the site, with raw HTML in human-written parts shown as text.

    Generated parts are escaped when rendered; a card's prose may come from an upstream README,
    so on the audit site no tag from it is ever live (`<script>` shows as text). With
    `link_out`, generated blocks that have their own section in the audit report become a link.
    """
    out = []
    for part in parse_body(body):
        if part.kind != "generated":
            out.append(unlink_relative(part.text.replace("<", "&lt;")))
        elif link_out and part.key in LINKED_BLOCKS and part.key not in skip:
            title, target, what = LINKED_BLOCKS[part.key]
            out.append(f"## {title}\n\nSee [{title.lower()}]({target}): {what}.\n")
        else:
            out.append(part.text)
    return "".join(out)
