"""The training compute of a fine-tune, with its method, inputs, range and threshold verdict.

The Trainer's own `total_flos` is used where it was recorded. Otherwise the figure is
computed: a full fine-tune costs 6·N·D (forward 2·N·D, backward 4·N·D); an adapter's training
costs (4·N_total + 2·N_trainable)·D: the forward pass runs through the whole model (2·N_total·D),
the backward pass carries activations back through it (2·N_total·D) but computes weight
gradients only for the trainable parameters (2·N_trainable·D). D is `num_input_tokens_seen`
where the run counted it, else steps × batch × sequence length, whose range says what is
estimated (a sequence length is an upper bound unless packing fills every sequence). Every input
names its file and key. The verdict compares with one third of the original model's training
compute (the Commission's guidelines; 10²³ FLOP when that is unknown): an indication for the
people who decide, never legal advice.
"""

from __future__ import annotations

from typing import Any

from modelcards.assess.base_compute import cited_base_compute
from modelcards.inspect.facts import ModelFacts, TrainingRecord
from modelcards.render.evaluation_context import result_number, training_totals
from modelcards.render.subject import DeclaredCompute as DeclaredCompute  # its home: light

SHARE = 1 / 3  # a modification above one third of the original's compute makes a new provider
FALLBACK_BASE_FLOP = 1e23  # the guidelines' figure when the original's compute is unknown
TOKEN_KEYS = ("num_input_tokens_seen", "train_tokens", "total_tokens")
METHODS = {
    "total_flos": "the Trainer’s own count (total_flos)",
    "adapter": "(4·N_total + 2·N_trainable)·D, adapter training",
    "full": "6·N·D, full fine-tuning",
}


def _row(name: str, value: Any, source: str, estimated: bool = False) -> dict[str, Any]:
    return {"name": name, "value": value, "source": source, "estimated": estimated}


def parameter_count(facts: ModelFacts | None) -> tuple[int, str] | None:
    """All parameters from the safetensors headers, when every weight file was read."""
    if facts is None or not facts.weights.files:
        return None
    coverage = facts.weights.coverage
    if coverage.pointers or coverage.missing:
        return None  # some shards unread: the count would be short
    return facts.weights.total_params, f"safetensors headers ({', '.join(facts.weights.files)})"


def _recipe(facts: ModelFacts, key: str) -> tuple[Any, str] | None:
    found = facts.recipe.get(key)
    if found is None or isinstance(found.value, (bool, str, tuple)) or found.value is None:
        return None
    return found.value, found.source


def tokens(facts: ModelFacts) -> tuple[dict[str, Any] | None, list[dict[str, Any]], list[str]]:
    """(D as {value, low, high}, its input rows, notes): counted tokens, else steps × batch ×
    sequence length; None when the files do not give enough."""
    record = facts.training
    if record is not None and record.tokens_seen and record.state_file:
        row = _row("D, input tokens seen", record.tokens_seen,
                   f"{record.state_file}:num_input_tokens_seen")  # fmt: skip
        return {"value": record.tokens_seen, "low": record.tokens_seen,
                "high": record.tokens_seen}, [row], []  # fmt: skip
    if record is not None and (counted := result_number(record, TOKEN_KEYS)):
        value = counted["value"]
        row = _row("D, input tokens seen", value, counted["source"])
        return {"value": value, "low": value, "high": value}, [row], []
    return _tokens_from_steps(facts, record)


def _tokens_from_steps(
    facts: ModelFacts, record: TrainingRecord | None
) -> tuple[dict[str, Any] | None, list[dict[str, Any]], list[str]]:
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    bounded_above = bounded_below = True
    if record is not None and record.global_step and record.state_file:
        steps = record.global_step
        rows.append(_row("steps done", steps, f"{record.state_file}:global_step"))
    elif planned := _recipe(facts, "max_steps"):
        steps = planned[0]
        rows.append(_row("steps planned", steps, planned[1], estimated=True))
        notes.append("steps are the planned number: a stopped run did fewer")
        bounded_below = False
    else:
        return None, rows, ["no step count (trainer_state.json global_step or max_steps)"]
    if total := _recipe(facts, "total_batch"):
        batch = total[0]
        rows.append(_row("total batch (sequences per step)", batch, total[1]))
    elif per_device := _recipe(facts, "per_device_batch"):
        batch = per_device[0]
        rows.append(_row("batch per device", batch, per_device[1]))
        for key, label in (("gradient_accumulation", "gradient accumulation"),
                           ("devices", "devices")):  # fmt: skip
            if stated := _recipe(facts, key):
                batch *= stated[0]
                rows.append(_row(label, stated[0], stated[1]))
            else:
                rows.append(_row(label, 1, "not stated: 1 assumed", estimated=True))
                notes.append(f"{label} not stated: 1 assumed, so the figure has no upper bound")
                bounded_above = False
    else:
        return None, rows, ["no batch size in the training recipe"]
    length = _recipe(facts, "sequence_length")
    if length is None:
        return None, rows, ["no sequence length in the training recipe"]
    packing = facts.recipe.get("packing")
    packed = packing is not None and packing.value is True
    rows.append(_row("sequence length", length[0], length[1], estimated=not packed))
    if packed:
        rows.append(_row("packing", True, packing.source if packing else ""))
    else:
        notes.append("sequence length is an upper bound: "
                     + ("packing is off" if packing is not None else "packing is not stated")
                     + ", so sequences may be shorter (no lower bound from the files)")  # fmt: skip
    value = steps * batch * length[0]
    return {"value": value, "low": value if packed and bounded_below else None,
            "high": value if bounded_above else None}, rows, notes  # fmt: skip


def step_compute(facts: ModelFacts, base: ModelFacts | None) -> dict[str, Any]:
    """One training step of a lineage: method, FLOP (nominal, low, high), inputs and notes."""
    flos = training_totals(facts.training)["total_flos"] if facts.training else None
    if flos:
        value = float(flos["value"])
        result = {"method": "total_flos", "method_text": METHODS["total_flos"], "flop": value,
                  "low": value, "high": value,
                  "inputs": [_row("total_flos", value, flos["source"])],
                  "notes": ["the Trainer counts 6 × input tokens × all parameters (embeddings "
                            "excluded), frozen ones included for an adapter"]}  # fmt: skip
        return _unfinished(facts.training, result)
    count, rows, notes = tokens(facts)
    own = parameter_count(facts)
    if facts.is_adapter:
        base_params = parameter_count(base)
        method = "adapter"
        if own and base_params:
            trainable, total = own[0], base_params[0] + own[0]
            rows = [_row("N_trainable, adapter parameters", trainable, f"adapter {own[1]}"),
                    _row("N_total, base + adapter parameters", total,
                         f"base {base_params[1]} + adapter"), *rows]  # fmt: skip
            per_token = 4 * total + 2 * trainable
        else:
            per_token = None
            notes.append("parameters unknown: " + ("base weights not read" if own else
                                                   "adapter weights not read"))  # fmt: skip
    else:
        method = "full"
        params = own or parameter_count(base)
        if params:
            where = "" if own else "base "  # a full fine-tune has its base's parameters
            rows = [_row("N, all parameters (all trained)", params[0], where + params[1]), *rows]
            per_token = 6 * params[0]
        else:
            per_token = None
            notes.append("parameters unknown: no weight headers read")
    result = {"method": method if per_token and count else None,
              "method_text": METHODS[method] if per_token and count else None,
              "flop": None, "low": None, "high": None, "inputs": rows, "notes": notes}  # fmt: skip
    if per_token and count:
        result.update({k: None if count[k] is None else float(per_token * count[k])
                       for k in ("low", "high")}, flop=float(per_token * count["value"]))  # fmt: skip
        state = facts.training.state_file if facts.training else None
        if state and any(r["source"].startswith(f"{state}:") for r in rows):
            return _unfinished(facts.training, result)  # D counted up to a checkpoint
    return result


def _unfinished(record: TrainingRecord | None, result: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint's state counts the steps up to it: when the run planned more, the whole
    run's compute reaches up to planned / done times the figure."""
    if record is None or not record.state_file or record.state_file == "trainer_state.json":
        return result
    done, planned = record.global_step, record.max_steps
    if not done or not planned or planned <= done:
        return result
    high = None if result["high"] is None else result["high"] * planned / done
    note = (f"{record.state_file} records {done} of {planned} planned steps: the whole run "
            f"may have used up to {planned / done:.3g}× this figure")  # fmt: skip
    return {**result, "high": high, "notes": [*result["notes"], note]}


def base_compute(
    declared: DeclaredCompute | None, base: ModelFacts | None, original_id: str | None,
    base_in_project: bool,
) -> dict[str, Any]:  # fmt: skip
    """The original model's training compute and where it is stated, or the fallback."""
    if declared is not None:
        return {"flop": declared.flop, "source": f"{declared.source} ({declared.where})",
                "kind": "config"}  # fmt: skip
    own = training_totals(base.training)["total_flos"] if base and base.training else None
    if own and not base_in_project:  # a project base's total_flos is its fine-tune's
        return {
            "flop": float(own["value"]),
            "source": f"base {own['source']}",
            "kind": "base files",
        }
    if cited := cited_base_compute(original_id):
        return {"flop": cited[0], "source": cited[1], "kind": "cited"}
    return {"flop": FALLBACK_BASE_FLOP, "kind": "fallback",
            "source": "unknown: the guidelines’ 10²³ FLOP is used"}  # fmt: skip


def verdict(low: float | None, high: float | None, threshold: float) -> str:
    """Below or above the indicative threshold, or why the files cannot tell."""
    if high is not None and high <= threshold:
        return "below the indicative threshold"
    if low is not None and low > threshold:
        return "above the indicative threshold"
    if low is None and high is None:
        return "not determined: the compute is not known from the files"
    return "not determined: the range reaches across the threshold"


def _total(values: list[float | None]) -> float | None:
    return None if any(v is None for v in values) else sum(v for v in values if v is not None)


def compute_json(
    tuned: ModelFacts,
    base: ModelFacts | None,
    *,
    declared: DeclaredCompute | None = None,
    original_id: str | None = None,
    parent: str | None = None,
) -> dict[str, Any]:
    """card.json's `compute`: this model's step, and the lineage summed when `parent` (a model
    of the project whose files `base` are) was itself trained."""
    own = step_compute(tuned, base)
    reference = base_compute(declared, base, original_id, parent is not None)
    threshold = reference["flop"] * SHARE
    result = {**own, "base_compute": reference, "threshold_flop": threshold,
              "verdict": verdict(own["low"], own["high"], threshold), "lineage": None}  # fmt: skip
    if parent is not None and base is not None:
        earlier = step_compute(base, None)
        steps = [{"model": parent, **{k: earlier[k] for k in ("method", "flop", "low", "high")}},
                 {"model": None, **{k: own[k] for k in ("method", "flop", "low", "high")}}]  # fmt: skip
        low, high = _total([s["low"] for s in steps]), _total([s["high"] for s in steps])
        result["lineage"] = {
            "steps": steps, "flop": _total([s["flop"] for s in steps]), "low": low, "high": high,
            "verdict": verdict(low, high, threshold),
            "note": "summed over this model and its base in the project; earlier steps of the "
                    "base's own lineage are not included",
        }  # fmt: skip
    return result
