"""MC626–MC627: a mergekit merge's named sources, checked against its weights (--deep).

The verdicts are the deep compare's (`compare/deep/merge_check.py`); a finding names the source
as the config writes it, with the figures.
"""

from __future__ import annotations

from modelcards.assess.findings import Finding, Severity
from modelcards.assess.rules import RULES, Rule, finding
from modelcards.compare.deep.merge_check import MERGE_UNRELATED_BELOW, SourceCheck
from modelcards.inspect.merge_config import MERGE_CONFIG

MERGE_RULES = (
    Rule("MC626", Severity.HIGH, "a merge source's weights are not in the merge",
         "with --deep, the median cosine similarity between each source a mergekit config "
         f"names and the merged matrices (2-D, at least 1,024 elements): at most "
         f"{MERGE_UNRELATED_BELOW:g} (a source that contributes keeps it well above: 0.71 for "
         "one of two unrelated sources merged half and half, near 1 for fine-tunes of one base; "
         "a share under about a tenth among unrelated sources cannot be told from absence)",
         "The config names a model the weights do not come from: the card credits (and "
         "inherits the licence and risks of) a model that is not in it, and the real sources "
         "are undocumented.",
         "Check which models were merged; correct mergekit_config.yml, or re-run the merge "
         "from the models it names."),
    Rule("MC627", Severity.LOW, "a merge source names a path outside the project",
         "the local paths of mergekit_config.yml's sources, resolved (links too) against the "
         "merged model's folder and the project root",
         "A relative path that climbs out of the project, or a link that leads out, was not "
         "read: its weights are unchecked, and a model file should not steer reads elsewhere.",
         "Name the source by its Hub id, or put its folder inside the project."),
)  # fmt: skip

RULES.add(MERGE_RULES)


def merge_findings(sources: tuple[SourceCheck, ...]) -> list[Finding]:
    """MC626 per source whose weights are not in the merge, MC627 per path refused."""
    found = []
    for source in sources:
        check = source.check
        if check.verdict == "not_derived":
            found.append(finding("MC626", MERGE_CONFIG, source.sentence.rstrip("."),
                                 {"source": source.reference, "tensors": check.tensors,
                                  "median_similarity": check.median_similarity,
                                  "lowest": check.lowest,
                                  "below_threshold": check.below}))  # fmt: skip
        if source.outside:
            found.append(finding("MC627", MERGE_CONFIG,
                                 f"source {source.reference}: {check.reason}",
                                 {"source": source.reference}))  # fmt: skip
    return found
