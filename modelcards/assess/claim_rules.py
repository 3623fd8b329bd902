"""MC622–MC625: what the files say against what a reader would assume — a chat template that
writes its own system prompt, an end-of-turn token the config does not stop on, and names of the
base (config.json `_name_or_path`, the README's "fine-tuned version of") from another family
than the base the other files record.

Each finding quotes both values and names both files. Family judgements are conservative: an
id with only a size, precision or revision suffix changed (Llama-2-7b-hf → Llama-2-13b) is the
same family, and a name without an organisation (a local folder's name) is no family at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from modelcards.assess.findings import Finding, Severity
from modelcards.assess.rules import RULES, Rule, finding
from modelcards.inspect.facts import ModelFacts
from modelcards.inspect.lineage import base_claims
from modelcards.inspect.model_family import same_family
from modelcards.resolve.hubid import classify_base_name

M, L = Severity.MEDIUM, Severity.LOW

CLAIM_RULES = (
    Rule("MC622", M, "chat template injects a default system prompt",
         "the chat template's branch taken when the conversation has no system message "
         "(read from the Jinja source, never rendered)",
         "Every user who sends no system prompt gets this one: it changes what the model is told "
         "it is and what it may do, for every conversation, without the user seeing it.",
         "State the default system prompt in the card, and evaluate refusal behaviour with and "
         "without it."),
    Rule("MC623", M, "end-of-turn token and config eos_token_id disagree",
         "the tokenizer's eos_token (its id in the added tokens) against eos_token_id in "
         "config.json and generation_config.json",
         "Generation stops on the config's eos id; a chat model that ends its turns with another "
         "token runs on past the end of its answer.",
         "Set eos_token_id in generation_config.json to the end-of-turn token's id (a list may "
         "hold both)."),
    Rule("MC624", M, "config.json _name_or_path names another model family than the base",
         "config.json _name_or_path of the fine-tune against the configured base and the base's "
         "own config.json",
         "transformers writes the name the weights were loaded from: another family there is "
         "evidence the weights derive from a different model than the card says.",
         "Check which model the training started from; correct the base in modelcards.yml or "
         "say in the card why the name differs."),
    Rule("MC625", L, "the README describes a different model than the files record",
         "the README's 'fine-tuned version of X' against the base adapter_config.json, "
         "config.json and modelcards.yml record",
         "A card that names another base than the files misleads every reader about lineage, "
         "licence and known risks.",
         "Correct the README's text, or the files, so that both name the same base."),
)  # fmt: skip

RULES.add(CLAIM_RULES)

FINE_TUNED_OF = re.compile(
    r"fine-?tuned (?:version|model) of \[?`?(?P<id>[A-Za-z0-9][\w.-]*/[\w.-]*[A-Za-z0-9])", re.I
)


def _hub_id(value: Any) -> str | None:
    named = classify_base_name(value) if isinstance(value, str) else None
    return named.id if named is not None and named.kind == "hub" and named.id else None


def _differs(claimed: str, records: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The records (where, id) whose family the claim does not share; [] if one agrees."""
    judged = [(where, rid, same_family(claimed, rid)) for where, rid in records]
    judged = [(w, r, s) for w, r, s in judged if s is not None]
    if not judged or any(s for _, _, s in judged):
        return []
    return [(w, r) for w, r, _ in judged]


def claim_findings(
    tuned: ModelFacts, base: ModelFacts | None, *, configured_id: str | None
) -> list[Finding]:
    found = _system_prompt(tuned) + _eos_mismatch(tuned)
    records: list[tuple[str, str]] = []
    if configured_id and _hub_id(configured_id):
        records.append(("modelcards.yml base", configured_id))
    if base is not None and base.source.hub_id and not configured_id:
        records.append(("the base", base.source.hub_id))
    base_own = _hub_id((base.config or {}).get("_name_or_path")) if base else None
    if base_own:
        records.append(("the base's config.json _name_or_path", base_own))
    written = _hub_id((tuned.config or {}).get("_name_or_path"))
    if written and records:
        others = _differs(written, records)
        if others:
            found.append(finding("MC624", "config.json",
                                 f"_name_or_path is {written}, another model family than "
                                 + "; ".join(f"{rid} ({where})" for where, rid in others),
                                 {"tuned_name_or_path": written,
                                  "base_records": [f"{w}: {r}" for w, r in others]}))  # fmt: skip
    found += _readme_claim(tuned, configured_id)
    return found


def _readme_claim(tuned: ModelFacts, configured_id: str | None) -> list[Finding]:
    if tuned.card is None:
        return []
    match = FINE_TUNED_OF.search(tuned.card.body)
    claimed = _hub_id(match.group("id")) if match else None
    if claimed is None:
        return []
    records = [(c.source, c.name.id) for c in base_claims(tuned.adapter, None, tuned.config)
               if c.name.kind == "hub" and c.name.id]  # fmt: skip
    if configured_id and _hub_id(configured_id):
        records.append(("modelcards.yml base", configured_id))
    others = _differs(claimed, [(w, r) for w, r in records if r])
    if not others:
        return []
    quote = match.group(0) if match else claimed
    return [finding("MC625", "README.md",
                    f"the README says \"{quote}\"; the files record "
                    + "; ".join(f"{rid} ({where})" for where, rid in others),
                    {"readme": quote, "files": [f"{w}: {r}" for w, r in others]})]  # fmt: skip


def _system_prompt(tuned: ModelFacts) -> list[Finding]:
    tok = tuned.tokenizer
    if tok is None:
        return []
    from modelcards.inspect.chat_template import analyse_template  # Jinja2: only for templates

    found = []
    for name, source in sorted(tok.chat_templates.items()):
        for prompt in analyse_template(source).default_system_prompt:
            quoted = prompt if len(prompt) <= 200 else prompt[:199] + "…"
            found.append(finding("MC622", tok.chat_template_file or "tokenizer_config.json",
                                 f"chat template '{name}' uses this system prompt when none is "
                                 f"given: \"{quoted}\"", {"template": name, "prompt": quoted}))  # fmt: skip
    return found


def _eos_ids(value: Any) -> set[int]:
    if isinstance(value, bool):
        return set()
    if isinstance(value, int):
        return {value}
    if isinstance(value, list):
        return {v for v in value if isinstance(v, int) and not isinstance(v, bool)}
    return set()


def _eos_mismatch(tuned: ModelFacts) -> list[Finding]:
    tok = tuned.tokenizer
    eos = tok.special_tokens.get("eos_token") if tok else None
    ids = [t.id for t in tok.added_tokens if t.content == eos] if tok and eos else []
    config_ids = _eos_ids((tuned.config or {}).get("eos_token_id"))
    generation_ids = _eos_ids((tuned.generation or {}).get("eos_token_id"))
    if not ids or not config_ids or ids[0] in config_ids | generation_ids:
        return []
    where = "config.json" + (" and generation_config.json" if generation_ids else "")
    stops = sorted(config_ids | generation_ids)
    return [finding("MC623", "tokenizer_config.json",
                    f"eos_token is {eos} (id {ids[0]}, tokenizer_config.json); {where} "
                    f"eos_token_id is {', '.join(map(str, stops))}: generation does not stop on {eos}",
                    {"tokenizer_eos": eos, "tokenizer_eos_id": ids[0],
                     "config_eos_token_id": sorted(config_ids),
                     "generation_eos_token_id": sorted(generation_ids)})]  # fmt: skip
