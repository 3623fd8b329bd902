"""A card another tool wrote is filled in place: each generated block goes into the author's
section of its name, one heading per section, one H1, an open code fence closed, template
placeholders filled — and the layout then stays as the card has it. Checked with a CommonMark
parser (markdown-it-py), as the Hub and GitHub read the card."""

from __future__ import annotations

import collections
from pathlib import Path

from markdown_it import MarkdownIt

from modelcards.render.card_file import compose_card, merge_body
from modelcards.render.card_layout import FENCE_NOTE, scan
from modelfiles import git, llama_config, llama_tensors, make_model, run_modelcards

MD = MarkdownIt("commonmark").enable("table")

RENDERED = """<!-- modelcards:begin header -->
# tuned

`tuned` is a fine-tune.
<!-- modelcards:end header -->

### Model Description

[More Information Needed]

<!-- modelcards:begin details -->
## Model Details

| | |
|---|---|
| Licence | `apache-2.0` |
<!-- modelcards:end details -->

## Uses

[More Information Needed]

<!-- modelcards:begin training -->
## Training Details

| | |
|---|---|
| Steps | 20 |
<!-- modelcards:end training -->

<!-- modelcards:begin evaluation -->
## Evaluation

No evaluation results were found.
<!-- modelcards:end evaluation -->

<!-- modelcards:begin provenance -->
## Provenance

- Tool: modelcards.
<!-- modelcards:end provenance -->
"""

PEFT_TEMPLATE = """# Model Card for Model ID

<!-- Provide a quick summary of what the model is/does. -->

## Model Details

### Model Description

- **Developed by:** [More Information Needed]
- **License:** [More Information Needed]
- **Finetuned from model [optional]:** [More Information Needed]

## Uses

### Direct Use

[More Information Needed]

## Training Details

### Training Data

[More Information Needed]

## Evaluation

### Results

[More Information Needed]

### Framework versions

- PEFT 0.11.1
"""


def headings(body: str) -> list[tuple[str, str]]:
    tokens = MD.parse(body)
    return [
        (t.tag, tokens[i + 1].content) for i, t in enumerate(tokens) if t.type == "heading_open"
    ]


def markers_outside_code(body: str) -> int:
    """How many begin markers CommonMark reads as HTML (not as text inside a code block)."""
    return sum(
        t.content.count("<!-- modelcards:begin ") for t in MD.parse(body) if t.type == "html_block"
    )


def test_a_template_card_gets_its_blocks_in_its_own_sections() -> None:
    body = merge_body(RENDERED, PEFT_TEMPLATE, {"license": "`apache-2.0`"})
    found = headings(body)
    assert [tag for tag, _ in found].count("h1") == 1
    assert not [h for h, n in collections.Counter(found).items() if n > 1]
    # the details table sits under the author's Model Details, before its Model Description
    details = body.index("## Model Details")
    assert details < body.index("| Licence |") < body.index("### Model Description")
    assert (
        body.index("## Training Details")
        < body.index("| Steps |")
        < body.index("### Training Data")
    )
    assert (
        body.index("## Evaluation")
        < body.index("No evaluation results")
        < body.index("### Results")
    )
    # the template's own filler sections are not added beside the author's
    assert body.count("## Uses") == 1 and "### Model Description\n\n[More" not in body
    # the summary opens the card under the author's title; what no section holds closes it
    assert body.index("# Model Card for Model ID") < body.index("`tuned` is a fine-tune.")
    assert body.index("- PEFT 0.11.1") < body.index("## Provenance")
    assert "- **License:** `apache-2.0`" in body
    assert "- **Developed by:** [More Information Needed]" in body  # nothing known: left
    assert markers_outside_code(body) == 4 + 1  # header, details, training, eval, provenance


def test_the_layout_is_kept_on_every_later_build() -> None:
    first = merge_body(RENDERED, PEFT_TEMPLATE, {"license": "`apache-2.0`"})
    assert merge_body(RENDERED, first, {"license": "`apache-2.0`"}) == first
    # a person moves the provenance block to the top: it stays there
    block = first[first.index("<!-- modelcards:begin provenance") :]
    block = block[: block.index("<!-- modelcards:end provenance -->") + 35]
    moved = block + "\n" + first.replace(block, "")
    assert merge_body(RENDERED, moved).startswith("<!-- modelcards:begin provenance")
    # a block new to the template follows the block it follows in the template
    richer = RENDERED.replace(
        "<!-- modelcards:begin provenance -->",
        "<!-- modelcards:begin changes -->\n## Changes from the base model\n\nNone.\n"
        "<!-- modelcards:end changes -->\n\n<!-- modelcards:begin provenance -->",
    )
    grown = merge_body(richer, first)
    assert grown.index("- PEFT 0.11.1") < grown.index("## Changes") < grown.index("## Provenance")


def test_a_block_the_template_dropped_goes_and_the_text_around_it_stays() -> None:
    first = merge_body(RENDERED, PEFT_TEMPLATE)
    leaner = (
        RENDERED[: RENDERED.index("<!-- modelcards:begin evaluation")]
        + RENDERED[RENDERED.index("<!-- modelcards:begin provenance") :]
    )
    body = merge_body(leaner, first)
    assert "No evaluation results" not in body and "### Results" in body


def test_an_unclosed_fence_is_closed_before_the_generated_blocks() -> None:
    author = "# Mine\n\nUsage:\n\n```python\nprint('hi')\n## not a heading\n"
    body = merge_body(RENDERED, author)
    assert FENCE_NOTE in body
    assert markers_outside_code(body) == 5
    assert "## not a heading" not in [c for _, c in headings(body)]
    assert merge_body(RENDERED, body) == body  # closed once, then the author's text as it is
    tilde = merge_body(RENDERED, "Intro\n\n~~~~\n```\nstill code\n")
    assert "~~~~\n" + FENCE_NOTE in tilde and markers_outside_code(tilde) == 5


def test_fences_and_headings_are_read_as_commonmark_reads_them() -> None:
    text = (
        "# Title #\n"
        "    # indented code, no heading\n"
        "```\n# in code\n``` not a close\n```\n"
        "## Training procedure:\n"
        "### Eval [optional]\n"
        "~~~~\n~~~\n"  # a shorter fence does not close a longer one
        "## inside\n"
    )
    found, fence = scan(text)
    assert [(h.level, h.title) for h in found] == [
        (1, "title"),
        (2, "training procedure"),
        (3, "eval"),
    ]
    assert fence == "~~~~"
    assert scan("``` inline ` backtick is no fence\n# yes\n")[0][0].title == "yes"


def test_only_placeholders_are_filled_and_values_are_inert() -> None:
    author = (
        "## Model Details\n\n- **License:** mine, see LICENSE\n"
        "- **Language(s) (NLP):** [More Information Needed]\n"
        "- **Model type:** [More Information Needed]\n"
    )
    body = merge_body(RENDERED, author, {"language": "`en`", "model_type": "`<b>x</b>`"})
    assert "- **License:** mine, see LICENSE" in body
    assert "- **Language(s) (NLP):** `en`" in body
    assert "- **Model type:** `<b>x</b>`" in body  # as code: shown, never HTML


def test_a_card_written_by_modelcards_before_is_unchanged() -> None:
    fresh = merge_body(RENDERED, None)
    assert merge_body(RENDERED, fresh) == fresh
    assert "[More Information Needed]" in fresh  # a new card still offers the template's prompts
    edited = fresh.replace("## Uses\n\n[More Information Needed]", "## Uses\n\nSupport replies.")
    assert merge_body(RENDERED, edited) == edited
    card = compose_card({"license": "mit"}, RENDERED, "---\nlicense: mit\n---\n" + PEFT_TEMPLATE)
    assert card.startswith("---\nlicense: mit\n---\n# Model Card for Model ID")


def test_build_fills_a_peft_template_card_in_place(tmp_path: Path) -> None:
    project = tmp_path / "project"
    make_model(
        project / "lora", config=llama_config(), tensors=llama_tensors(), readme=PEFT_TEMPLATE
    )
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "as the training script saved it")
    assert run_modelcards("init", cwd=project).returncode == 0
    built = run_modelcards("build", "--no-site", cwd=project)
    assert built.returncode == 0, built.stderr
    card = (project / "lora/README.md").read_text()
    body = card.split("\n---\n", 1)[1]
    found = headings(body)
    assert [tag for tag, _ in found].count("h1") == 1, found
    assert not [h for h, n in collections.Counter(found).items() if n > 1], found
    assert markers_outside_code(body) == body.count("<!-- modelcards:begin ")
    again = run_modelcards("build", "--no-site", cwd=project)
    assert again.returncode == 0 and "0 files written" in again.stdout
