"""MC6xx: risks that come from what the fine-tune changed against its base.

Each finding cites the file and key of the change, with before → after as evidence; MC620
cites the deep compare's similarity figures (`compare/deep/origin.py`).
"""

from __future__ import annotations

import re
from typing import Any

from modelcards.assess.evaluation_rules import has_evaluation
from modelcards.assess.findings import EvidenceValue, Finding, Severity
from modelcards.assess.rules import RULES, Rule, finding
from modelcards.compare.deep import DeepDiff
from modelcards.compare.deep.origin import base_check
from modelcards.compare.model import Change, ModelDiff
from modelcards.inspect.facts import ModelFacts

C, H, M, L, INFO = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.INFO

DIFF_RULES = (
    Rule("MC601", M, "chat template added, removed or changed",
         "the chat template in tokenizer_config.json, chat_template.jinja or chat_template.json",
         "The chat template frames every conversation, including the system prompt and the "
         "roles that safety training relied on; a new template can undo refusal behaviour.",
         "Re-run refusal and red-team evaluations with the new template and record the results."),
    Rule("MC602", M, "special tokens or vocabulary changed",
         "special tokens, added tokens and vocab_size against the base",
         "New embedding rows start untrained, and a tokenizer that no longer matches the model's "
         "embeddings produces garbage or unsafe text for the affected ids.",
         "Confirm the new rows were trained, and that tokenizer and model were saved together."),
    Rule("MC603", M, "context window extended past what the base was trained on",
         "max_position_embeddings, rope_scaling and rope_theta against the base",
         "Quality and safety behaviour beyond the base's training length are untested; RoPE "
         "scaling trades precision for length.",
         "Evaluate long-context quality (and safety prompts) at the new length."),
    Rule("MC604", L, "generation defaults changed",
         "generation_config.json sampling settings and lengths against the base",
         "Sampling temperature, top-p and length limits change what users see without any "
         "change to the weights.",
         "State the new defaults in the card and evaluate with them."),
    Rule("MC605", M, "model is quantized",
         "quantization_config in config.json, and the relation to the base",
         "Quantization loses precision unevenly; safety fine-tuning can degrade first.",
         "Measure quality and safety against the unquantized base and record the loss."),
    Rule("MC606", L, "adapter or training touches embeddings or the output head",
         "target_modules and modules_to_save of the adapter",
         "Changing embeddings or the head changes every token's representation, not just a "
         "narrow skill.",
         "Say why in the card and evaluate broadly, not only on the target task."),
    Rule("MC607", M, "training data not named in the card",
         "the datasets key of the card's front matter and modelcards.yml",
         "Without the data, nobody can judge licensing, privacy or bias of the fine-tune.",
         "Name every training dataset (Hub ids, or internal names with a data sheet)."),
    Rule("MC608", M, "no evaluation results",
         "metrics in the card's own model-index, evaluation metrics in trainer_state.json "
         "and *_results.json",
         "A fine-tune shipped without evaluation cannot show it did not regress.",
         "Evaluate against the base on the target task and on safety benchmarks; add model-index."),
    Rule("MC609", L, "base model named only by a local path",
         "the base in modelcards.yml",
         "A path says nothing to a reader outside the team: provenance stops there.",
         "Give the base's Hub id (base: {path: ..., id: org/name, revision: ...})."),
    Rule("MC610", INFO, "weights the base did not have",
         "tensor names in the safetensors headers against the base",
         "New tensors (a new head, new layers) are trained from scratch on the fine-tuning data.",
         "Describe the new parts and what they were trained on."),
    Rule("MC611", H, "tokenizer ids beyond the model's embedding",
         "the highest token id of the tokenizer against vocab_size in config.json",
         "Token ids past the embedding index out of range or into untrained rows.",
         "Resize the embeddings to the tokenizer (and train the new rows), or fix the tokenizer."),
    Rule("MC612", H, "custom code added or changed against the base",
         "auto_map and Python files against the base",
         "Code that runs with trust_remote_code is executed by everyone who loads the model.",
         "Review the code change as you would any dependency update, and pin the revision."),
    Rule("MC620", H, "weights are not derived from the named base",
         "with --deep, the median cosine similarity between base and fine-tuned matrices (2-D, "
         "at least 1,024 elements): at most 0.2 (a fine-tune keeps it near 1, an unrelated "
         "model of the same architecture sits near 0)",
         "The card's lineage, licence inheritance and evaluation comparisons all rest on the "
         "base it names; weights that do not come from that base make them wrong. (A base with "
         "its hidden units permuted also lands here: the check compares stored weights, not "
         "the function they compute.)",
         "Name the base the weights were really trained from, or compare against the right "
         "revision of it; if the weights were re-parametrised on purpose, waive with the reason."),
)  # fmt: skip

RULES.add(DIFF_RULES)

HEAD_OR_EMBEDDING = re.compile(r"(embed|wte|wpe|lm_head|classifier|score|qa_outputs|head)")


def _evidence(change: Change) -> dict[str, EvidenceValue]:
    def short(value: Any) -> EvidenceValue:
        if value is None or isinstance(value, (str, int, float, bool)):
            text = value if not isinstance(value, str) or len(value) <= 200 else value[:199] + "…"
            return text
        text = repr(value)
        return text if len(text) <= 200 else text[:199] + "…"

    return {"key": change.key, "before": short(change.before), "after": short(change.after)}


def _first(diff: ModelDiff, area: str) -> list[Change]:
    return [c for c in diff.significant if c.area == area]


def diff_findings(
    diff: ModelDiff, tuned: ModelFacts, base: ModelFacts | None, *, base_has_hub_id: bool
) -> list[Finding]:
    findings: list[Finding] = []
    for change in _first(diff, "chat-template"):
        findings.append(finding("MC601", change.file or "tokenizer_config.json", change.meaning,
                                _evidence(change)))  # fmt: skip
    for change in _first(diff, "tokenizer"):
        if change.key.startswith(("special_tokens", "added_tokens", "additional_special_tokens")):
            findings.append(finding("MC602", change.file or "tokenizer_config.json", change.meaning,
                                    _evidence(change)))  # fmt: skip
    for change in diff.significant:
        if change.key == "vocab_size":
            findings.append(finding("MC602", "config.json", change.meaning, _evidence(change)))
    for change in _first(diff, "context"):
        grew = (
            isinstance(change.before, (int, float))
            and isinstance(change.after, (int, float))
            and change.after > change.before
        )
        if change.key.startswith("rope_scaling") or (grew and change.key != "model_max_length"):
            findings.append(finding("MC603", change.file or "config.json", change.meaning,
                                    _evidence(change)))  # fmt: skip
    generation = _first(diff, "generation")
    if generation:
        findings.append(finding(
            "MC604", "generation_config.json",
            "; ".join(c.meaning for c in generation[:4]) + (" …" if len(generation) > 4 else ""),
            {"keys": [c.key for c in generation]},
        ))  # fmt: skip
    if diff.relation == "quantized":
        method = ((tuned.config or {}).get("quantization_config") or {}).get("quant_method")
        findings.append(finding("MC605", "config.json", f"quantized ({method or 'unknown method'})",
                                {"quant_method": str(method) if method else None}))  # fmt: skip
    if tuned.adapter:
        touched = [
            str(m)
            for key in ("target_modules", "modules_to_save")
            for m in (tuned.adapter.get(key) or [])
            if isinstance(m, str) and HEAD_OR_EMBEDDING.search(m)
        ]
        if touched:
            findings.append(finding("MC606", "adapter_config.json",
                                    "the adapter trains " + ", ".join(touched), {"modules": touched}))  # fmt: skip
    datasets = tuned.card.metadata.get("datasets") if tuned.card else None
    if not datasets:
        findings.append(finding("MC607", "README.md", "the card names no training dataset"))
    if not has_evaluation(tuned):
        findings.append(finding("MC608", "README.md",
                                "no metric in the model-index of the card and no evaluation metric in "
                                "trainer_state.json or a *_results.json file"))  # fmt: skip
    if not base_has_hub_id:
        findings.append(finding("MC609", "modelcards.yml",
                                f"the base is the local path {diff.base.location}",
                                {"base": diff.base.location}))  # fmt: skip
    if diff.weights.added:
        added = list(diff.weights.added)
        findings.append(finding("MC610", "weights", f"{len(added)} tensors the base does not have",
                                {"tensors": added[:20]}))  # fmt: skip
    findings += _token_id_mismatch(tuned)
    for change in _first(diff, "remote-code"):
        findings.append(finding("MC612", change.file or "config.json", change.meaning,
                                _evidence(change)))  # fmt: skip
    return findings


def origin_findings(deep: DeepDiff | None) -> list[Finding]:
    """MC620 when the deep compare's figures say the weights are not the base's."""
    check = base_check(deep)
    if check.verdict != "not_derived":
        return []
    return [finding("MC620", "weights", check.sentence.rstrip("."),
                    {"median_similarity": check.median_similarity, "tensors": check.tensors,
                     "lowest": check.lowest, "below_threshold": check.below})]  # fmt: skip


def _token_id_mismatch(facts: ModelFacts) -> list[Finding]:
    vocab = (facts.config or {}).get("vocab_size")
    if not isinstance(vocab, int) or facts.tokenizer is None or not facts.tokenizer.added_tokens:
        return []
    highest = max(t.id for t in facts.tokenizer.added_tokens)
    if highest < vocab:
        return []
    return [finding("MC611", "tokenizer_config.json",
                    f"token id {highest} is beyond vocab_size {vocab} in config.json",
                    {"highest_token_id": highest, "vocab_size": vocab})]  # fmt: skip
