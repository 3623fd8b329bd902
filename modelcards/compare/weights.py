"""Changes in the weights as the headers show them: counts, shapes, dtypes, names, opaque files."""

from __future__ import annotations

from modelcards.compare.model import Change, WeightsDiff

__all__ = ["weight_changes"]


def weight_changes(weights: WeightsDiff, *, adapter_relation: bool) -> list[Change]:
    """Weight changes as far as coverage lets us see: totals only from complete tensor lists."""
    changes: list[Change] = []
    file = "weights"
    base_cov, tuned_cov = weights.coverage
    if weights.adapter is not None and weights.adapter.adapter_tensors:
        adapter = weights.adapter
        share = (
            f" ({100 * adapter.trainable_params / weights.base_params:.2f}% of the base)"
            if weights.base_params
            else ""
        )
        changes.append(
            Change(
                "weights",
                "adapter.trainable_params",
                None,
                adapter.trainable_params,
                True,
                f"{adapter.trainable_params:,} trainable parameters in {adapter.adapter_tensors} adapter tensors{share}, "
                f"patching {len(adapter.targeted_base_tensors)} base tensors"
                + (
                    f" and replacing {len(adapter.replaced_base_tensors)}"
                    if adapter.replaced_base_tensors
                    else ""
                ),
                file,
            )
        )
    elif (
        not adapter_relation  # an adapter's tensors are not a model: no "parameter count"
        and base_cov.tensors_complete
        and tuned_cov.tensors_complete
        and weights.base_params != weights.tuned_params
    ):
        changes.append(
            Change(
                "weights",
                "parameters",
                weights.base_params,
                weights.tuned_params,
                True,
                f"parameter count {weights.base_params:,} → {weights.tuned_params:,} "
                f"({weights.tuned_params - weights.base_params:+,})",
                file,
            )
        )
    for delta in weights.reshaped:
        changes.append(
            Change(
                "weights",
                f"tensors.{delta.name}",
                delta.before,
                delta.after,
                True,
                f"tensor {delta.name} reshaped {delta.before} → {delta.after}",
                file,
            )
        )
    by_dtype: dict[tuple[str, str], int] = {}
    for delta in weights.retyped:
        pair = (delta.before.split("[")[0], delta.after.split("[")[0])
        by_dtype[pair] = by_dtype.get(pair, 0) + 1
    for (b, a), count in sorted(by_dtype.items()):
        changes.append(
            Change(
                "precision",
                "tensors.dtype",
                b,
                a,
                True,
                f"{count} tensors stored as {a} instead of {b}",
                file,
            )
        )
    for what, names in (("added", weights.added), ("removed", weights.removed)):
        if names:
            shown = ", ".join(names[:5]) + (" …" if len(names) > 5 else "")
            before, after = (None, list(names)) if what == "added" else (list(names), None)
            changes.append(
                Change(
                    "weights",
                    f"tensors.{what}",
                    before,
                    after,
                    True,
                    f"{len(names)} tensors {what}: {shown}",
                    file,
                )
            )
    if weights.buffers:
        shown = ", ".join(weights.buffers[:5]) + (" …" if len(weights.buffers) > 5 else "")
        changes.append(Change(
            "weights", "tensors.buffers", None, list(weights.buffers), False,
            f"{len(weights.buffers)} buffers saved on one side only ({shown}): rebuilt by "
            "transformers at load time, not parameters", file,
        ))  # fmt: skip
    for rename in weights.renames:
        changes.append(
            Change(
                "weights",
                "tensors.renamed",
                rename.base_prefix or "(none)",
                rename.tuned_prefix or "(none)",
                False,
                f"{rename.count} tensors matched across a rename: prefix "
                f"'{rename.base_prefix}' → '{rename.tuned_prefix}'",
                file,
            )
        )
    for row in weights.opaque_files:
        if row["status"] in {"changed", "added", "removed"}:
            size_b = row["before"] and row["before"]["size"]
            size_a = row["after"] and row["after"]["size"]
            changes.append(
                Change(
                    "weights",
                    f"files.{row['file']}",
                    row["before"],
                    row["after"],
                    True,
                    f"weight file {row['file']} {row['status']} (compared by size/sha256 only: "
                    f"{size_b or 0:,} → {size_a or 0:,} bytes)",
                    row["file"],
                )
            )
    return changes
