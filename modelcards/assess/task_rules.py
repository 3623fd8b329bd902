"""MC621: the card's `pipeline_tag` names a task its architecture does not do.

The author's key is never replaced (a card keeps it), so a wrong one — a Whisper model tagged
text2text-generation, as modelcards itself once wrote — stays until someone fixes it: this rule
says so, with both values. Tasks that refine the architecture's (translation for a seq2seq
model, conversational for a causal LM, feature-extraction for a sentence-transformers model)
are no contradiction.
"""

from __future__ import annotations

from modelcards.assess.findings import Finding, Severity
from modelcards.assess.rules import RULES, Rule, finding
from modelcards.inspect.facts import ModelFacts

TASK_RULES = (
    Rule("MC621", Severity.LOW, "pipeline_tag contradicts the architecture",
         "the card's pipeline_tag against the task of config.json's architecture class",
         "The Hub picks the widget, the inference task and the search listing from pipeline_tag: "
         "a wrong one shows the model under a task it cannot do.",
         "Correct pipeline_tag in the card's front matter (modelcards never replaces it)."),
)  # fmt: skip

RULES.add(TASK_RULES)

# architecture's task -> the card tags that agree with it
COMPATIBLE = {
    "text-generation": {"conversational"},
    "text2text-generation": {"translation", "summarization", "text-generation"},
    "sentence-similarity": {"feature-extraction"},
    "text-classification": {"zero-shot-classification", "sentiment-analysis"},
    "image-text-to-text": {"visual-question-answering", "image-to-text", "document-question-answering"},
    "image-to-text": {"image-text-to-text"},
    "zero-shot-image-classification": {"feature-extraction", "image-feature-extraction"},
    "object-detection": {"zero-shot-object-detection"},
    "image-segmentation": {"mask-generation"},
    "automatic-speech-recognition": {"audio-to-audio"},
}  # fmt: skip


def task_findings(tuned: ModelFacts) -> list[Finding]:
    task = tuned.task
    if task is None or task.pipeline_tag is None or task.architecture_task is None:
        return []
    stated, by_class = task.pipeline_tag, task.architecture_task
    if stated.source != "README.md pipeline_tag" or stated.value == by_class.value:
        return []
    if stated.value in COMPATIBLE.get(by_class.value, set()):
        return []
    return [
        finding(
            "MC621",
            "README.md",
            f"the card says pipeline_tag {stated.value}, but {by_class.source} is a "
            f"{by_class.value} model",
            {"pipeline_tag": stated.value, "architecture_task": by_class.value},
        )
    ]
