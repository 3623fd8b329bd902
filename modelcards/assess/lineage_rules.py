"""MC613–MC619: what the card could not check, and where the files disagree about the base
or about how the model was trained.

These rules keep the card honest when its input is partial: a base only named, a base recorded
as a path on the training machine, shards or weights that are not there, a training log that
diverged. Each finding cites the file and key, with both values where two files disagree.
"""

from __future__ import annotations

from modelcards.assess.findings import Finding, Severity
from modelcards.assess.rules import RULES, Rule, finding
from modelcards.inspect.facts import ModelFacts
from modelcards.inspect.lineage import BaseClaim, base_claims
from modelcards.inspect.recipe_keys import LABELS
from modelcards.resolve.hubid import classify_base_name

M, L = Severity.MEDIUM, Severity.LOW

LINEAGE_RULES = (
    Rule("MC613", M, "base recorded as a path on the training machine",
         "adapter_config.json base_model_name_or_path, the card's base_model and config.json "
         "_name_or_path",
         "A path like /workspace/models/x says nothing to a reader elsewhere: the lineage stops "
         "there, and the Hub rejects it as base_model.",
         "Name the base's Hub id in modelcards.yml (base: org/name); modelcards keeps the path "
         "out of the card's metadata."),
    Rule("MC614", M, "the files name a different base than modelcards.yml",
         "the card's base_model and adapter_config.json base_model_name_or_path against the "
         "configured base",
         "Two answers to 'what was this fine-tuned from' cannot both be right; the adapter may "
         "not even load on the configured base.",
         "Check which base was really used; correct modelcards.yml or the file, so they agree."),
    Rule("MC615", L, "base named but not compared",
         "whether the configured base could be read (folder, git, lock, Hugging Face cache, Hub)",
         "Without the base, nothing that changed against it — chat template, tokens, context, "
         "licence — could be checked, so no such risk can be reported.",
         "Pin the base for offline builds with `modelcards lock --online`, or build with "
         "--online."),
    Rule("MC616", M, "training record shows non-finite values",
         "loss, grad_norm and metrics in trainer_state.json and *_results.json",
         "NaN or infinite values mean the run diverged at some point; the weights saved after it "
         "may be damaged.",
         "Check the steps named; say in the card whether the run recovered, or retrain."),
    Rule("MC617", L, "weights only partly present",
         "the weight files an index names against the files in the folder",
         "Tensors in shards that are not there were neither scanned nor compared with the base.",
         "Fetch the missing shards (`git lfs pull`, or download without --include filters) and "
         "build again."),
    Rule("MC618", M, "the training config names a different base than the model's files",
         "the base a training config names (axolotl and mergekit base_model, LLaMA-Factory "
         "model_name_or_path, ms-swift model) against adapter_config.json "
         "base_model_name_or_path, else a Hub id in config.json _name_or_path",
         "The config beside the weights may not be the one that trained them (edited after the "
         "run, or copied from another): its other settings, the data above all, may not "
         "describe this model either.",
         "Check which base the run loaded; commit the config the run really used, or correct "
         "it, so that both files agree."),
    Rule("MC619", L, "training files disagree on a setting",
         "every training setting that two recipe files state: adapter and quantization configs, "
         "training configs, trainer_state.json, the Trainer's README hyperparameter list",
         "Two values for one setting (a learning rate, a LoRA rank) mean one file is stale or "
         "describes another run; the card cannot say which one the model was trained with.",
         "Check which value the run used; correct or remove the stale file (a README list edited "
         "by hand, a config changed after training)."),
)  # fmt: skip

RULES.add(LINEAGE_RULES)


def lineage_findings(
    tuned: ModelFacts,
    *,
    configured: bool,
    configured_id: str | None,
    base_unavailable: str | None,
) -> list[Finding]:
    meta = tuned.card.metadata if tuned.card else None
    claims = base_claims(tuned.adapter, meta, tuned.config)
    found: list[Finding] = []
    for path in sorted({c.name.written for c in claims if c.name.kind == "path"}):
        where = next(c for c in claims if c.name.written == path)
        found.append(finding("MC613", where.file,
                             f"{where.key} records the base as {path}, a path on the training machine",
                             {"key": where.key, "path": path}))  # fmt: skip
    if configured_id:
        wanted = configured_id.lower()
        # a card may list several bases (a merge): it agrees when the configured one is among them
        card_agrees = any(
            c.file == "README.md" and (c.name.id or "").lower() == wanted for c in claims
        )
        for claim in claims:
            if claim.name.kind != "hub" or claim.file == "config.json":
                continue  # _name_or_path is whatever from_pretrained was given: too weak to judge
            if claim.file == "README.md" and card_agrees:
                continue
            if (claim.name.id or "").lower() != wanted:
                found.append(finding("MC614", claim.file,
                                     f"{claim.key} names {claim.name.id}; modelcards.yml names "
                                     f"{configured_id}",
                                     {"key": claim.key, "file_value": claim.name.written,
                                      "configured": configured_id}))  # fmt: skip
    if configured and base_unavailable:
        named = configured_id or "the configured base"
        found.append(finding("MC615", "modelcards.yml", f"{named} not compared: {base_unavailable}",
                             {"base": configured_id}))  # fmt: skip
    record = tuned.training
    if record is not None and record.non_finite:
        found.append(finding("MC616", record.files[0] if record.files else "trainer_state.json",
                             f"{len(record.non_finite)} non-finite value(s), first: "
                             f"{record.non_finite[0]}",
                             {"values": list(record.non_finite)}))  # fmt: skip
    found += recipe_base_findings(tuned) + recipe_conflict_findings(tuned)
    coverage = tuned.weights.coverage
    if coverage.missing:
        found.append(finding("MC617", coverage.indexes[0] if coverage.indexes else "weights",
                             f"{len(coverage.expected) - len(coverage.missing)} of "
                             f"{len(coverage.expected)} weight files present",
                             {"missing": list(coverage.missing)[:20]}))  # fmt: skip
    return found


def _tail(name: str) -> str:
    return name.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1].lower()


def same_base(a: str, b: str) -> bool:
    """Two names of one base: the same Hub id, or a path whose last folder is the other's name
    (/dev/shm/Qwen/Qwen3-14B and Qwen/Qwen3-14B)."""
    left, right = classify_base_name(a), classify_base_name(b)
    if left and right and left.id and right.id:
        return left.id.lower() == right.id.lower()
    return _tail(a) == _tail(b)


def _recorded_base(tuned: ModelFacts) -> BaseClaim | None:
    """What the model's files record: the adapter's base, else config.json's Hub id."""
    for claim in base_claims(tuned.adapter, None, tuned.config):
        if claim.file == "adapter_config.json" or claim.name.kind == "hub":
            return claim
    return None


def recipe_base_findings(tuned: ModelFacts) -> list[Finding]:
    """MC618: a training config (axolotl YAML, LLaMA-Factory args, ...) names another base."""
    if not tuned.recipe.base_claims:
        return []
    recorded = _recorded_base(tuned)
    if recorded is None:
        return []
    found = []
    for claim in tuned.recipe.base_claims:
        value = str(claim.value)
        if same_base(value, recorded.name.written):
            continue
        file, _, key = claim.source.partition(":")
        found.append(finding("MC618", file,
                             f"training config names {value} as base, the model's files say "
                             f"{recorded.name.written} ({recorded.source})",
                             {"config_file": file, "config_key": key, "config_base": value,
                              "model_file": recorded.file, "model_key": recorded.key,
                              "model_base": recorded.name.written}))  # fmt: skip
    return found


def recipe_conflict_findings(tuned: ModelFacts) -> list[Finding]:
    """MC619: one finding per setting two recipe files state differently, with every value."""
    found = []
    for first in tuned.recipe.values:
        others = tuned.recipe.conflicts_of(first.key)
        if not others:
            continue
        stated = [first, *others]
        said = "; ".join(f"{v.value!r} in {v.source}" for v in stated)
        found.append(finding("MC619", others[0].source.split(":", 1)[0].split(" (", 1)[0],
                             f"{LABELS.get(first.key, first.key)}: {said}"[:500],
                             {"key": first.key, "values": [repr(v.value)[:200] for v in stated],
                              "sources": [v.source for v in stated]}))  # fmt: skip
    return found
