"""Write docs/rules/: one page per rule from the catalogue, and an index (a test keeps them current).

python docs/gen_rules.py
"""

from __future__ import annotations

import sys
from pathlib import Path

from modelcards.assess import RULES

RULES_DIR = Path(__file__).parent / "rules"
FAMILIES = {
    "MC1": "Pickles and archives", "MC2": "safetensors validity", "MC3": "Remote code",
    "MC4": "Keras and TensorFlow", "MC5": "Licences", "MC6": "What the fine-tune changed",
    "MC7": "Governance and policy", "MC14": "Chat templates and GGUF", "MC15": "ONNX",
}  # fmt: skip


def family_of(rule_id: str) -> str:
    """The longest matching prefix wins: MC140 is a chat-template rule, not a pickle rule."""
    return max((p for p in FAMILIES if rule_id.startswith(p)), key=len, default="")


def rule_pages() -> dict[str, str]:
    """File name → content for every page under docs/rules/."""
    ordered = sorted(RULES.values(), key=lambda r: r.id)
    index = [
        "# Rules",
        "",
        "Every finding cites one of these rules. Ids are stable, like a linter's; waivers in "
        "`modelcards.yml` name them (`waivers: [{rule: MC101, reason: ..., owner: ...}]`). "
        "`modelcards rules` prints the same list.",
    ]
    pages = {}
    for prefix, family in sorted(FAMILIES.items()):
        members = [r for r in ordered if family_of(r.id) == prefix]
        if not members:
            continue
        index += ["", f"## {family}", "", "| Rule | Severity | Title |", "|---|---|---|"]
        for rule in members:
            index.append(f"| [{rule.id}]({rule.id}.md) | {rule.severity.value} | {rule.title} |")
            pages[f"{rule.id}.md"] = "\n".join([
                f"# {rule.id}: {rule.title}",
                "",
                f"**Default severity:** {rule.severity.value} · **Family:** {family}",
                "",
                "## What it checks",
                "",
                rule.checks[0].upper() + rule.checks[1:] + ("" if rule.checks.endswith(".") else "."),
                "",
                "## Why it matters",
                "",
                rule.why,
                "",
                "## What to do",
                "",
                rule.recommendation,
                "",
                "A finding you accept can be waived in `modelcards.yml`, with a reason, an owner "
                "and an expiry date; the card keeps showing it, marked as waived.",
                "",
                "[All rules](index.md)",
                "",
            ])  # fmt: skip
    pages["index.md"] = "\n".join(index) + "\n"
    return pages


if __name__ == "__main__":
    RULES_DIR.mkdir(exist_ok=True)
    pages = rule_pages()
    for stale in RULES_DIR.glob("*.md"):
        if stale.name not in pages:
            stale.unlink()
    for name, text in pages.items():
        (RULES_DIR / name).write_text(text, encoding="utf-8")
    sys.stdout.write(f"wrote {len(pages)} pages to {RULES_DIR}\n")
