"""Deep compare: what changed *inside* the weights, tensor by tensor, streamed.

For each tensor present in both models (after the same rename matching as the header diff) the
contents are read side by side in small blocks and reduced to three numbers: elements that
differ, ‖W_base‖² and ‖W_tuned − W_base‖² (Frobenius, accumulated in float64). For a PEFT LoRA
adapter the tuned side is the adapter delta ΔW = B·A·scale, computed a few rows at a time against
the base tensor. Memory stays flat whatever the model size (see `reading`).

Work is split into chunks of about `chunk_bytes` and spread over a thread pool: numpy and the
reads release the GIL, so several cores can work without pickling anything. Within a chunk,
blocks of `block_bytes` keep every numpy pass inside the CPU cache.

`deep_compare` lives in `run` (with numpy and the readers); this package itself holds only the
values and names a card or a site needs, so that showing a diff imports no numpy.
"""

from __future__ import annotations

from modelcards.compare.deep.names import MODULES, layer_of, module_of, place_label
from modelcards.compare.deep.summary import DeepDiff, GroupDelta, TensorChange

__all__ = [
    "MODULES",
    "DeepDiff",
    "GroupDelta",
    "TensorChange",
    "layer_of",
    "module_of",
    "place_label",
]
