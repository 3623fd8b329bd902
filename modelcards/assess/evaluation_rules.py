"""MC628–MC630: what the training record says about the evaluation of the shipped weights.

Each finding carries the figures and the files they were read from (inspect/evaluation.py).
"""

from __future__ import annotations

from modelcards.assess.findings import Finding, Severity
from modelcards.assess.rules import RULES, Rule, finding
from modelcards.inspect.card import model_index_metrics
from modelcards.inspect.evaluation import EvaluationRecord, evaluation_record, figure
from modelcards.inspect.facts import ModelFacts

L, INFO = Severity.LOW, Severity.INFO

EVALUATION_RULES = (
    Rule("MC628", L, "validation loss rose while training loss fell (overfitting)",
         "eval_loss and loss in trainer_state.json log_history",
         "A validation loss that climbs while the training loss keeps falling means the model "
         "learnt its training set rather than the task; the later steps are worse on new data.",
         "Ship an earlier checkpoint (load_best_model_at_end), stop early, or regularise; "
         "state the curve in the card."),
    Rule("MC629", L, "the README's evaluation numbers differ from the results files",
         "the Trainer card's results list and the model-index against *_results.json and "
         "trainer_state.json",
         "A reader trusts the number in the prose; when the files say otherwise one of them "
         "describes other weights or another run.",
         "Correct the README (or the files) so that both state the shipped weights' numbers."),
    Rule("MC630", INFO, "the best checkpoint is not the shipped weights",
         "best_model_checkpoint and best_metric in trainer_state.json against the shipped step",
         "The run recorded a better checkpoint than the weights it ships; the card's numbers "
         "are the shipped weights', not the best ones.",
         "Ship the best checkpoint, or say why the later weights were kept."),
)  # fmt: skip

RULES.add(EVALUATION_RULES)


def has_evaluation(facts: ModelFacts, record: EvaluationRecord | None = None) -> bool:
    """A metric in the author's model-index, or an evaluation number in the training files.

    A model-index build wrote from the files is those files again, so it counts as them.
    """
    card = facts.card
    own_index = (
        None
        if card is None or "model-index" in card.generated
        else card.metadata.get("model-index")
    )
    record = record if record is not None else evaluation_record(facts)
    return model_index_metrics(own_index) > 0 or bool(record and record.rows)


def evaluation_findings(facts: ModelFacts) -> list[Finding]:
    record = evaluation_record(facts)
    if record is None:
        return []
    found: list[Finding] = []
    trend = record.overfitting
    if trend is not None:
        found.append(finding("MC628", trend.source.partition(":")[0], trend.statement, {
            "eval_loss_low": trend.eval_low, "eval_loss_low_step": trend.eval_low_step,
            "eval_loss_last": trend.eval_last, "eval_loss_last_step": trend.eval_last_step,
            "train_loss_then": trend.train_then, "train_loss_last": trend.train_last,
        }))  # fmt: skip
    for claim in record.claims:
        if not claim.agrees and claim.files_value is not None:
            found.append(finding(
                "MC629", "README.md",
                f"{claim.where} states {claim.label} {claim.stated}; the files give "
                f"{figure(claim.files_value)} ({', '.join(claim.files_sources)})",
                {"stated": claim.stated, "files_value": claim.files_value,
                 "files": list(claim.files_sources)},
            ))  # fmt: skip
    best = record.best
    if best is not None and not best.shipped and best.step is not None:
        metric = best.metric or "best_metric"
        value = figure(best.value) if best.value is not None else "?"
        shipped = (
            f" ({figure(best.shipped_value)} shipped)" if best.shipped_value is not None else ""
        )
        found.append(finding(
            "MC630", best.source.partition(":")[0],
            f"best {metric} {value} at step {best.step} ({best.checkpoint}), not the shipped "
            f"weights{shipped}",
            {"checkpoint": best.checkpoint, "metric": metric, "best": best.value,
             "shipped": best.shipped_value},
        ))  # fmt: skip
    return found
