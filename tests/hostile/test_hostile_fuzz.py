"""Seeded mutation fuzzing: real files with bytes flipped, cut and spliced.

Every mutant must scan without an exception escaping and without reaching the scanner's
last-resort error path (which would mean a parser bug on hostile bytes).
"""

from __future__ import annotations

import io
import json
import random
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hostile_helpers import evil, make_zip
from safetensors.numpy import save_file

from modelcards.assess.scan import INTERNAL_ERROR, scan_path


def seeds(tmp_path: Path) -> dict[str, bytes]:
    st = tmp_path / "seed.safetensors"
    save_file({"w": np.ones((3, 3), dtype=np.float32)}, str(st), metadata={"a": "b"})
    npz = io.BytesIO()
    np.savez_compressed(npz, a=np.arange(10), o=np.array([None, 1], dtype=object))
    keras = io.BytesIO()
    with zipfile.ZipFile(keras, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(
            "config.json",
            json.dumps(
                {
                    "class_name": "Sequential",
                    "config": {"layers": [{"class_name": "Lambda", "config": {"name": "l"}}]},
                }
            ),
        )
    return {
        "model.safetensors": st.read_bytes(),
        "pytorch_model.bin": make_zip(
            [("archive/data.pkl", evil()), ("archive/data/0", bytes(32))], zipfile.ZIP_DEFLATED
        ),
        "x.pkl": evil(4, "builtins", "exec"),
        "a.npz": npz.getvalue(),
        "m.keras": keras.getvalue(),
        "config.json": json.dumps({"auto_map": {"AutoModel": "a/b--c.D"}}).encode(),
        "modeling.py": b"import os\ndef f():\n    return os.getcwd()\n",
    }


def mutate(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        kind = rng.random()
        pos = rng.randrange(len(out)) if out else 0
        if kind < 0.5 and out:
            out[pos] = rng.randrange(256)
        elif kind < 0.7:
            del out[pos : pos + rng.randint(1, 64)]
        elif kind < 0.85:
            out[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        else:
            out = out[:pos]
    return bytes(out)


@pytest.mark.parametrize("round_", range(4))
def test_mutants_never_crash_the_scanner(tmp_path: Path, round_: int) -> None:
    rng = random.Random(1000 + round_)
    originals = seeds(tmp_path)
    folder = tmp_path / "fuzz"
    folder.mkdir()
    for i in range(60):
        name = rng.choice(sorted(originals))
        (folder / f"{i:03d}_{name}").write_bytes(mutate(originals[name], rng))
    report = scan_path(folder)
    assert report.files_scanned == 60
    errors = [f.message for f in report.findings if INTERNAL_ERROR in f.message]
    assert errors == []
