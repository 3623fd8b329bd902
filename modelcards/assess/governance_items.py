"""The governance checklist's items, in a module of their own: the config validates the items it
names against them without loading the checklist's rules (`governance.py`)."""

from __future__ import annotations

# id → (title, what evidences it)
ITEMS: dict[str, tuple[str, str]] = {
    "vulnerability_scan": ("Vulnerability scan of every file", "done by modelcards on every build"),
    "documented_modifications": ("Modifications against the base documented",
                                 "done by modelcards: the diff against the base"),
    "red_team": ("Red-team / adversarial testing record", "a report file or link"),
    "bias_evaluation": ("Bias evaluation", "a report file or link"),
    "privacy": ("Privacy statement for the training data (PII handling, anonymisation)",
                "a statement file or link"),
    "deployment_isolation": ("Deployment isolation (containerised, network restricted)",
                             "a deployment description file or link"),
    "access_controls": ("Access controls", "a file or link describing who can use the model"),
    "contact": ("A contact for reporting problems", "an e-mail address, a link or an issue tracker"),
}  # fmt: skip
CONFIGURABLE = tuple(
    k for k in ITEMS if k not in {"vulnerability_scan", "documented_modifications"}
)
