"""Whether two Hub ids name one model family: the evidence `_name_or_path` and a README give
about what weights derive from.

Conservative: only a size, precision, format or revision word differs (Llama-2-7b-hf and
Llama-2-13b) means the same family, and so does an organisation's own word leading the name
(meta-llama/Meta-Llama-3.1-8B is meta-llama/Llama-3.1-8B); another variant (-chat, -Instruct, 3
→ 3.1) is another model. A name without an organisation (a local folder's name) is no family.
"""

from __future__ import annotations

import re

from modelcards.resolve.hubid import is_hub_repo_id

__all__ = ["same_family"]

# suffix words that name a size, a precision, a format or a revision: not another family
_SUFFIX = re.compile(
    r"^(\d+(\.\d+)?[bmk]|\d+x\d+(\.\d+)?b|a\d+(\.\d+)?b|hf|fp16|bf16|fp32|gptq|awq|gguf|exl2|bnb|"
    r"\d+bit|int[48]|safetensors|sharded|v\d+(\.\d+)*|step\d+)$"
)


def _family(hub_id: str) -> tuple[set[str], set[str]] | None:
    """(name stems, organisation words) of an `org/name` id; None for a name without org."""
    org, slash, name = hub_id.partition("/")
    if not slash or not is_hub_repo_id(hub_id):
        return None
    words = [w for w in re.split(r"[-_]", name.lower()) if w and not _SUFFIX.match(w)]
    return ({"-".join(words)} if words else set()), set(re.split(r"[-_.]", org.lower()))


def same_family(a: str, b: str) -> bool | None:
    """Whether two Hub ids name one family; None when either is no `org/name` id."""
    fa, fb = _family(a), _family(b)
    if fa is None or fb is None:
        return None
    orgs = fa[1] | fb[1]

    def variants(stems: set[str]) -> set[str]:
        found = set(stems)
        for stem in stems:  # Meta-Llama-3.1 at meta-llama = Llama-3.1: the org's word dropped
            first, _, rest = stem.partition("-")
            if rest and first in orgs:
                found.add(rest)
        return found

    return bool(variants(fa[0]) & variants(fb[0]))
