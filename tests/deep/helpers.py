"""Real model folders on disk for the deep-compare tests."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file

from modelcards.compare.deep import DeepDiff
from modelcards.compare.deep.run import deep_compare
from modelcards.inspect import inspect_snapshot
from modelcards.resolve import open_folder


def write_raw_safetensors(
    path: Path, tensors: dict[str, tuple[str, tuple[int, ...], bytes]]
) -> None:
    """A safetensors file from raw bytes, for dtypes numpy cannot hold (BF16, F8)."""
    header: dict[str, object] = {}
    offset = 0
    for name, (dtype, shape, data) in tensors.items():
        header[name] = {
            "dtype": dtype,
            "shape": list(shape),
            "data_offsets": [offset, offset + len(data)],
        }
        offset += len(data)
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as handle:
        handle.write(struct.pack("<Q", len(raw)) + raw)
        for _dtype, _shape, data in tensors.values():
            handle.write(data)


def model_folder(path: Path, tensors: dict[str, np.ndarray] | None = None) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "config.json").write_text('{"model_type": "llama"}')
    if tensors is not None:
        save_file(tensors, str(path / "model.safetensors"))
    return path


def adapter_folder(path: Path, tensors: dict[str, np.ndarray], config: dict[str, object]) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", **config}))
    save_file(tensors, str(path / "adapter_model.safetensors"))
    return path


def run_deep(base: Path, tuned: Path, **options: object) -> DeepDiff:
    base_snap, tuned_snap = open_folder(base), open_folder(tuned)
    return deep_compare(
        inspect_snapshot(base_snap),
        inspect_snapshot(tuned_snap),
        base_snap,
        tuned_snap,
        **options,  # type: ignore[arg-type]
    )


def bf16_bytes(values: np.ndarray) -> tuple[bytes, np.ndarray]:
    """BF16 bytes made by truncating float32 bits, and the float32 values they stand for."""
    bits = values.astype(np.float32).view(np.uint32)
    top = (bits >> 16).astype("<u2")
    reference = (top.astype(np.uint32) << 16).view(np.float32)
    return top.tobytes(), reference
