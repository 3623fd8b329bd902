"""Where the generated blocks go in a card a person (or another tool) already wrote.

Real READMEs arrive as templates other tools wrote — the PEFT "Model Card for Model ID", the
Trainer's, TRL's, unsloth's, sentence-transformers' — with their own `## Model Details`,
`## Training Details`, `## Evaluation`. Appending modelcards' sections after them doubles every
heading. So, the first time modelcards writes into such a card, each generated block goes into
the author's section of the same name (right under its heading and opening text), the summary
(header, details) opens the card under the author's title, and the rest closes it. From then on
the card's own order is kept: a block stays where it is, and a person may move it.

Three rules hold on every build, so they are stable (applying them twice changes nothing):

- a generated block that sits right under an author heading of its name is written without its
  own heading, and the header's `# title` goes when the card already has an H1: one heading per
  section, one H1;
- a code fence the author left open is closed before the next generated block, with a note
  saying so (else every generated section renders as code on the Hub and GitHub);
- a template's `[More Information Needed]` after a field modelcards knows (licence, base model,
  language, model type, repository) is filled with the value; nothing else a person wrote changes.

Headings and fences are read as CommonMark reads them (ATX headings, backtick and tilde fences,
at most three spaces of indentation); setext headings and HTML are left as text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

PLACEHOLDER = "[More Information Needed]"
FENCE_NOTE = (
    "<!-- modelcards closed a code fence left open above, so that the generated sections "
    "below render as Markdown -->"
)
_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^( {0,3})(`{3,}|~{3,})(.*)$")
_TRAILING = re.compile(r"[\s:]+$|\s*\[optional\]\s*$", re.IGNORECASE)

# the titles under which an author's card already holds what a generated block says; the
# block's own heading always counts. Whole titles only: "Bias, Risks, and Limitations" is no
# "Known risks", "Results" under an Evaluation is no second home for it.
SECTION_TITLES: Mapping[str, frozenset[str]] = {
    "details": frozenset({"model details"}),
    "training": frozenset({"training details", "training procedure", "training"}),
    "evaluation": frozenset({"evaluation", "evaluation results", "eval results"}),
    "technical": frozenset({"technical specifications"}),
    "changelog": frozenset({"change log", "changelog"}),
}
# the summary opens the card (under the author's title) unless a section of the author's holds
# it; every other block no section holds closes the card
OPENING = ("header", "details")

# `- **Label:** [More Information Needed]` fields of the model-card templates, by the fill key
FIELD_LABELS: Mapping[str, str] = {
    "license": "license",
    "licence": "license",
    "finetuned from model": "base_model",
    "language(s) (nlp)": "language",
    "language(s)": "language",
    "language": "language",
    "model type": "model_type",
    "repository": "repository",
}
_FIELD = re.compile(
    r"^(?P<lead>[ \t]*[-*+][ \t]+\*\*(?P<label>[^*\n]+?)\*\*:?[ \t]*)"
    + re.escape(PLACEHOLDER)
    + r"[ \t]*$",
    re.MULTILINE,
)


@dataclass(frozen=True)
class Heading:
    level: int
    title: str  # normalised: lower case, without a trailing colon or "[optional]"
    start: int  # offset of the heading line
    body: int  # offset where the section's opening text ends (the next heading, or the end)


@dataclass(frozen=True)
class Slot:
    """One piece of a card: the author's text, or a generated block (its name, its text)."""

    block: str | None
    text: str


def normalise_title(raw: str) -> str:
    title = raw.strip().strip("*_").strip()
    while True:
        shorter = _TRAILING.sub("", title)
        if shorter == title:
            return title.lower()
        title = shorter


def scan(text: str) -> tuple[list[Heading], str | None]:
    """The ATX headings outside code fences, and the fence still open at the end (or None)."""
    found: list[tuple[int, str, int]] = []
    fence: str | None = None
    offset = 0
    for line in text.splitlines(keepends=True):
        bare = line.rstrip("\r\n")
        opened = _FENCE.match(bare)
        if fence is not None:
            if (
                opened
                and opened.group(2)[0] == fence[0]
                and len(opened.group(2)) >= len(fence)
                and not opened.group(3).strip()
            ):
                fence = None
        elif opened and not (opened.group(2)[0] == "`" and "`" in opened.group(3)):
            fence = opened.group(2)
        elif match := _HEADING.match(bare):
            found.append((len(match.group(1)), normalise_title(match.group(2) or ""), offset))
        offset += len(line)
    headings = [
        Heading(level, title, start, found[i + 1][2] if i + 1 < len(found) else len(text))
        for i, (level, title, start) in enumerate(found)
    ]
    return headings, fence


def block_title(text: str) -> tuple[int, str] | None:
    """(level, normalised title) of a generated block's own heading, if it has one."""
    for line in text.splitlines()[1:]:  # after the begin marker
        if line.strip():
            match = _HEADING.match(line)
            return (len(match.group(1)), normalise_title(match.group(2) or "")) if match else None
    return None


def _titles(block: str, text: str) -> frozenset[str]:
    own = block_title(text)
    return SECTION_TITLES.get(block, frozenset()) | ({own[1]} if own and own[0] > 1 else set())


def first_layout(rendered: Sequence[Slot], author: str) -> list[Slot]:
    """The generated blocks placed into a card that has none yet (`author` is its whole body).

    The template's prompts for a person (its text between blocks: `## Uses`, `## Environmental
    Impact`, ...) come along only for sections the card lacks, under any of their usual titles,
    after the author's text.
    """
    blocks = [s for s in rendered if s.block is not None]
    after = {
        slot.block: rendered[i + 1].text
        for i, slot in enumerate(rendered[:-1])
        if slot.block is not None and rendered[i + 1].block is None
    }
    headings, _ = scan(author)
    have = {h.title for h in headings}
    title_end = headings[0].body if headings and headings[0].level == 1 else 0
    cuts: dict[int, list[str]] = {title_end: []}  # offset in the author's text -> blocks there
    used: set[int] = set()
    for slot in blocks:
        assert slot.block is not None
        if slot.block == "header":
            continue
        titles = _titles(slot.block, slot.text)
        home = next(
            (
                h
                for h in headings
                if h.start >= title_end and h.level > 1 and h.title in titles
                and h.start not in used
            ),
            None,
        )  # fmt: skip
        if home is not None:
            used.add(home.start)
            cuts.setdefault(home.body, []).append(slot.block)
    placed = {name for names in cuts.values() for name in names}
    cuts[title_end] = [b for b in OPENING if b not in placed] + cuts[title_end]
    names = [s.block for s in blocks if s.block is not None]
    closing = [n for n in names if n not in placed and n not in OPENING]
    text = {s.block: s for s in blocks}
    items: list[Slot] = []
    position = 0
    for offset in sorted(cuts):
        if not cuts[offset]:
            continue
        items.append(Slot(None, author[position:offset]))
        items.extend(text[name] for name in cuts[offset])
        position = offset
    items.append(Slot(None, author[position:]))
    # after the author's text; the header's prompt, a "Model Description", is what the author's
    # own text already is
    for name in [n for n in names if n not in closing]:
        seen = have | {"model description"} if name == "header" else have
        items.append(Slot(None, _missing_prompts(after.get(name, ""), seen)))
    for name in closing:
        items.append(text[name])
        items.append(Slot(None, _missing_prompts(after.get(name, ""), have)))
    return _joined(items)


# the template's prompts and the titles under which a card already has each section
PROMPT_TITLES: Mapping[str, frozenset[str]] = {
    "model description": frozenset(
        {"model description", "description", "model summary", "summary", "overview",
         "model overview"}
    ),
    "uses": frozenset(
        {"uses", "intended use", "intended uses", "intended uses & limitations",
         "intended uses and limitations", "direct use", "usage and limitations"}
    ),
    "bias, risks, and limitations": frozenset(
        {"bias, risks, and limitations", "bias, risks and limitations", "limitations",
         "known limitations", "limitations and biases", "limitations and bias", "risks",
         "ethical considerations and limitations", "intended uses & limitations",
         "intended uses and limitations", "bias"}
    ),
    "training procedure": frozenset({"training procedure", "training details", "training"}),
    "environmental impact": frozenset({"environmental impact", "carbon emissions"}),
}  # fmt: skip


def _missing_prompts(template_text: str, have: set[str]) -> str:
    """The template's prompt sections the card has under no title of theirs (with their
    subsections); a section the card has goes with everything under it."""
    headings, _ = scan(template_text)
    opening = template_text[: headings[0].start if headings else len(template_text)].strip("\n")
    kept: list[str] = [opening] if opening.strip() else []  # a project template's own text
    dropped_level: int | None = None
    for heading in headings:
        if dropped_level is not None and heading.level > dropped_level:
            continue
        dropped_level = None
        if PROMPT_TITLES.get(heading.title, frozenset({heading.title})) & have:
            dropped_level = heading.level
            continue
        kept.append(template_text[heading.start : heading.body].strip("\n"))
    return "\n\n".join(kept)


def _joined(items: Sequence[Slot]) -> list[Slot]:
    """Adjacent texts joined by one blank line, and exactly one text between two blocks."""
    layout: list[Slot] = []
    for item in items:
        if item.block is not None:
            if layout and layout[-1].block is None:
                before = layout[-1].text.rstrip("\n")
                gap = "\n" if len(layout) > 1 else ""  # a blank line after the block before
                layout[-1] = Slot(None, before + "\n\n" if before else gap)
            elif layout:
                layout.append(Slot(None, "\n"))
            else:
                layout.append(Slot(None, ""))
            layout.append(item)
        elif layout and layout[-1].block is None:
            joined = "\n\n".join(
                t for t in (layout[-1].text.strip("\n"), item.text.strip("\n")) if t
            )
            layout[-1] = Slot(None, "\n" + joined + "\n" if joined else "")
        else:
            layout.append(Slot(None, item.text if not layout else _after_block(item.text)))
    if layout and layout[-1].block is not None:
        layout.append(Slot(None, ""))
    return layout


def _after_block(text: str) -> str:
    stripped = text.strip("\n")
    return "\n" + stripped + "\n" if stripped else ""


def finish(layout: Sequence[Slot], fills: Mapping[str, str]) -> str:
    """The card body: headings a section already has dropped, open fences closed, fields filled."""
    out: list[str] = []
    any_h1 = any(
        h.level == 1 for s in layout if s.block is None for h in scan(_fill(s.text, fills))[0]
    )
    for slot in layout:
        if slot.block is None:
            out.append(_fill(slot.text, fills))
            continue
        so_far = "".join(out)
        headings, fence = scan(so_far)
        if fence is not None:
            closing = ("" if so_far.endswith("\n") else "\n") + fence[0] * len(fence)
            out.append(f"{closing}\n{FENCE_NOTE}\n\n")
        text = slot.text
        if slot.block == "header" and any_h1:
            text = _drop_heading(text, level=1)
        elif headings and headings[-1].title in _titles(slot.block, text):
            own = block_title(text)
            if (
                own is not None
                and own[0] > 1
                and not so_far[headings[-1].start :].count("<!-- modelcards:begin ")
            ):
                text = _drop_heading(text, level=own[0])
        out.append(text)
    return "".join(out)


def _drop_heading(block: str, *, level: int) -> str:
    """The block without its first heading line (and the blank line after it)."""
    marker, _, rest = block.partition("\n")
    lines = rest.split("\n")
    for i, line in enumerate(lines):
        if line.strip():
            match = _HEADING.match(line)
            if match and len(match.group(1)) == level:
                after = lines[i + 1 :]
                while after and not after[0].strip():
                    after = after[1:]
                return marker + "\n" + "\n".join(lines[:i] + after)
            return block
    return block


def _fill(text: str, fills: Mapping[str, str]) -> str:
    if PLACEHOLDER not in text:
        return text

    def replace(match: re.Match[str]) -> str:
        key = FIELD_LABELS.get(normalise_title(match.group("label")))
        value = fills.get(key) if key else None
        return match.group("lead") + value if value else match.group(0)

    return _FIELD.sub(replace, text)
