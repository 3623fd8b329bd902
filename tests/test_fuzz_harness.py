"""bench/fuzz.py itself: its mutators are deterministic, its classifier sees each failure class,
and one iteration runs end to end on the real seed project (about 10 s)."""

from __future__ import annotations

import importlib.util
import json
import random
import struct
import sys
from pathlib import Path

import pytest

FUZZ_PATH = Path(__file__).resolve().parents[1] / "bench" / "fuzz.py"


@pytest.fixture(scope="module")
def fuzz():
    spec = importlib.util.spec_from_file_location("mc_fuzz", FUZZ_PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules["mc_fuzz"] = module  # dataclasses look the module up by name
    spec.loader.exec_module(module)
    return module


SEEDS = {
    "models/m/config.json": json.dumps({"a": [1, 2, {"b": "c"}], "n": 3.5}).encode(),
    "modelcards.yml": b"models:\n  - path: models/m\n    base: {path: base, id: org/x}\n",
    "models/m/README.md": b"---\nlicense: mit\ntags: [a]\n---\n<!-- modelcards:begin card -->\n"
    b"x\n<!-- modelcards:end card -->\n",
    "templates/card.md.j2": b"{{ model.name }}\n",
    "models/m/model.safetensors": (
        struct.pack("<Q", 64)
        + json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})
        .encode()
        .ljust(64)
        + b"\0" * 8
    ),
    "scan/x.pkl": b"\x80\x04K\x01.",
}


def test_mutators_are_deterministic_and_give_bytes(fuzz, tmp_path: Path) -> None:
    for rel, data in SEEDS.items():
        for seed in range(40):
            first = fuzz.mutate_content(random.Random(seed), rel, data, tmp_path)
            again = fuzz.mutate_content(random.Random(seed), rel, data, tmp_path)
            assert first == again, rel
            assert isinstance(first[0], bytes) and first[1]


def test_json_emit_keeps_what_json_cannot_say(fuzz) -> None:
    text = fuzz.emit({"x": fuzz.Raw("NaN"), "s": "\ud800", "d": fuzz.deep(3)})
    assert text == '{"x":NaN,"s":"\\ud800","d":[[[]]]}'


def test_fs_mutations_apply(fuzz, tmp_path: Path) -> None:
    project = tmp_path / "p"
    (project / "models" / "m").mkdir(parents=True)
    (project / "models" / "m" / "config.json").write_text("{}")
    for seed in range(30):
        mutation = fuzz.mutate_fs(random.Random(seed), project, "models/m/config.json", tmp_path)
        fuzz.apply_mutation(project, mutation)  # never raises, whatever is there already


def test_classifier_sees_each_failure_class(fuzz, tmp_path: Path) -> None:
    project = tmp_path / "p"
    project.mkdir()
    before = fuzz.fingerprint(project)
    trace = (
        "Traceback (most recent call last):\n"
        '  File "/x/modelcards/inspect/facts.py", line 12, in read_config\n'
        "    boom()\nKeyError: 'a'\n"
    )

    def classify(code, out="", err=""):
        return fuzz.classify(project, ["build", "--no-site"], before, (code, out, err, 0.1))

    assert classify(0).cls == "ok"
    assert classify(2, err="modelcards: error: config.json: not JSON\n").cls == "ok"
    assert classify(2, err="modelcards: error: ValueError: bad\n").cls == "net"
    failed = classify(1, err=trace)
    assert failed.cls == "traceback"
    assert failed.signature.endswith("KeyError at modelcards/inspect/facts.py:12 read_config")
    assert classify(-11).cls == "bad-exit"
    assert classify(None).cls == "hang"
    assert classify(0, out=fuzz.CANARY_ENV).cls == "canary"
    (project / ".README.md.abc123.tmp").write_text("half")
    assert classify(0).cls == "half-written"


def test_one_iteration_end_to_end(fuzz, tmp_path: Path) -> None:
    seed = tmp_path / "seed" / "project"
    seed.parent.mkdir()
    fuzz.make_seed(seed)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(fuzz.CANARY_OUTSIDE)
    harness = fuzz.Harness(tmp_path / "out", seed, outside, 60, {}, 7)
    harness.out.mkdir()
    harness.iteration(1)  # a `check`, the second command of the rotation
    assert harness.iterations == 1 and harness.per_command["check"] == 1
    line = (harness.out / "log.tsv").read_text().splitlines()
    assert len(line) == 1 and line[0].split("\t")[1].startswith("check")
    assert "| iterations | 1 |" in fuzz.summary(harness, 1, 1)
