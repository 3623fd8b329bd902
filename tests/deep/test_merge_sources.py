"""mergekit merges: each source the config names checked against the merged weights like a base.

Real safetensors written here: small MLPs (8 layers of 64 × 64) merged linearly, by SLERP, with
an unrelated model named as a source, a source that is not local, a source of LFS pointers, and
hostile paths that lead out of the project (never read)."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest

from modelcards.assess.merge_rules import merge_findings
from modelcards.compare.deep.merge_check import MERGE_CONSISTENT_FROM, MERGE_UNRELATED_BELOW
from modelcards.compare.deep.origin import NOT_COMPARED
from modelcards.inspect.merge_config import read_merge_config
from modelcards.project.merge_checks import check_sources
from modelcards.resolve import open_folder

from .helpers import model_folder
from .test_similarity import mlp


def linear(weights: dict[int, float], models: dict[int, dict[str, np.ndarray]]) -> dict:
    """mergekit's linear merge: the weighted mean of every tensor."""
    names = next(iter(models.values()))
    total = sum(weights.values())
    return {
        n: sum(w * models[k][n] for k, w in weights.items()).astype(np.float32) / total
        for n in names
    }


def slerp(a: dict[str, np.ndarray], b: dict[str, np.ndarray], t: float) -> dict:
    """mergekit's SLERP of each tensor (on the unit directions, as mergekit does)."""
    out = {}
    for name, x in a.items():
        y = b[name]
        nx, ny = np.linalg.norm(x), np.linalg.norm(y)
        dot = float(np.clip((x / nx * y / ny).sum(), -1, 1)) if nx and ny else 1.0
        if abs(dot) > 0.9995:
            out[name] = ((1 - t) * x + t * y).astype(np.float32)
            continue
        theta = math.acos(dot)
        s0, s1 = math.sin((1 - t) * theta), math.sin(t * theta)
        out[name] = ((s0 * x + s1 * y) / math.sin(theta)).astype(np.float32)
    return out


def merged_folder(root: Path, name: str, tensors: dict, config: str) -> Path:
    folder = model_folder(root / "models" / name, tensors)
    (folder / "mergekit_config.yml").write_text(config)
    return folder


def checks(root: Path, folder: Path, deep: bool = True) -> dict[str, dict]:
    merged = open_folder(folder, project_root=root)
    merge = read_merge_config(merged)
    assert merge is not None
    found = check_sources(merge, merged, folder, root, deep=deep)
    return {c.reference: c.as_json() | {"_check": c} for c in found}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Sources a, b (independent), c (unrelated to every merge), tuned-1/2 (fine-tunes of a)."""
    root = tmp_path_factory.mktemp("merges")
    weights = {k: mlp(seed) for k, seed in (("a", 1), ("b", 2), ("c", 3))}
    for name, tensors in weights.items():
        model_folder(root / "sources" / name, tensors)
    for name, seed, share in (("tuned-1", 11, 0.1), ("tuned-2", 12, 0.2)):  # a perturbed
        rng = np.random.default_rng(seed)
        tuned = {k: (v + share * v.std() * rng.standard_normal(v.shape)).astype(np.float32)
                 for k, v in weights["a"].items()}  # fmt: skip
        model_folder(root / "sources" / name, tuned)
    return root


def test_a_linear_merge_of_two_models_is_consistent_with_both(project: Path) -> None:
    a, b = (open_folder(project / "sources" / k) for k in "ab")
    from safetensors.numpy import load_file

    ta, tb = (load_file(str(s.local_file("model.safetensors"))) for s in (a, b))  # type: ignore[arg-type]
    folder = merged_folder(
        project, "linear", linear({0: 0.5, 1: 0.5}, {0: ta, 1: tb}),
        "models:\n  - model: ../../sources/a\n    parameters: {weight: 0.5}\n"
        "  - model: sources/b\n    parameters: {weight: 0.5}\nmerge_method: linear\n",
    )  # fmt: skip
    found = checks(project, folder)
    for name in ("../../sources/a", "sources/b"):
        check = found[name]
        assert check["verdict"] == "consistent", check
        assert abs(check["median_similarity"] - math.sqrt(0.5)) < 0.01  # w/√Σw² = 0.707
        assert check["tensors"] == 9 and check["location"] == name.removeprefix("../../")
        assert check["thresholds"] == {
            "consistent_from": MERGE_CONSISTENT_FROM,
            "unrelated_below": MERGE_UNRELATED_BELOW,
        }
    assert "its weights are in the merge (median similarity 0.7" in found["sources/b"]["sentence"]
    assert merge_findings(tuple(c["_check"] for c in found.values())) == []
    # without --deep nothing is read, and each source says why it was not checked
    lazy = checks(project, folder, deep=False)
    assert {c["verdict"] for c in lazy.values()} == {"not_checked"}
    assert lazy["sources/b"]["reason"] == NOT_COMPARED and not lazy["sources/b"]["deep"]


def test_slerp_and_an_uneven_linear_merge_are_consistent_with_their_sources(project: Path) -> None:
    from safetensors.numpy import load_file

    ta, tb, t1, t2 = (
        load_file(str(project / "sources" / k / "model.safetensors"))
        for k in ("a", "b", "tuned-1", "tuned-2")
    )
    slices = (
        "slices:\n  - sources:\n      - model: sources/a\n        layer_range: [0, 8]\n"
        "      - model: sources/b\n        layer_range: [0, 8]\nmerge_method: slerp\n"
        "base_model: sources/a\nparameters: {t: 0.5}\n"
    )
    found = checks(project, merged_folder(project, "slerp", slerp(ta, tb, 0.5), slices))
    assert found["sources/a"]["roles"] == ["slices", "base_model"]
    for name in ("sources/a", "sources/b"):
        assert found[name]["verdict"] == "consistent"
        assert abs(found[name]["median_similarity"] - math.sqrt(0.5)) < 0.02
    uneven = "models:\n  - model: sources/a\n  - model: sources/b\nmerge_method: linear\n"
    found = checks(
        project,
        merged_folder(project, "uneven", linear({0: 0.75, 1: 0.25}, {0: ta, 1: tb}), uneven),
    )
    assert found["sources/a"]["median_similarity"] > 0.9
    assert 0.25 < found["sources/b"]["median_similarity"] < 0.4  # 0.25/√(0.75²+0.25²) = 0.316
    assert found["sources/b"]["verdict"] == "consistent"
    twins = (
        "models:\n  - model: sources/tuned-1\n  - model: sources/tuned-2\nbase_model: sources/a\n"
    )
    found = checks(
        project, merged_folder(project, "ties", linear({0: 0.5, 1: 0.5}, {0: t1, 1: t2}), twins)
    )
    assert all(c["verdict"] == "consistent" and c["median_similarity"] > 0.8
               for c in found.values()), found  # fmt: skip


def test_a_source_whose_weights_are_not_in_the_merge_is_a_high_finding(project: Path) -> None:
    from safetensors.numpy import load_file

    ta, tb = (load_file(str(project / "sources" / k / "model.safetensors")) for k in "ab")
    config = "models:\n  - model: sources/a\n  - model: sources/c\nmerge_method: linear\n"
    found = checks(
        project,
        merged_folder(project, "claims-c", linear({0: 0.5, 1: 0.5}, {0: ta, 1: tb}), config),
    )
    assert found["sources/a"]["verdict"] == "consistent"
    unrelated = found["sources/c"]
    assert unrelated["verdict"] == "not_derived", unrelated
    assert abs(unrelated["median_similarity"]) < 0.05 and unrelated["below_threshold"] == 9
    (risk,) = merge_findings(tuple(c["_check"] for c in found.values()))
    assert risk.rule == "MC626" and risk.severity.value == "high"
    assert risk.file == "mergekit_config.yml" and risk.evidence["source"] == "sources/c"
    assert risk.message.startswith("Merge source sources/c: its weights are not in the merge")


def test_sources_that_cannot_be_checked_say_why(project: Path, monkeypatch) -> None:
    """Not local (no folder, not in the HF cache: the Hub is not asked), LFS pointers, a LoRA
    applied, an absolute path of the merge machine, layers moved by a passthrough."""
    monkeypatch.setenv("HF_HUB_CACHE", str(project / "empty-cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    pointers = project / "sources" / "pointers"
    pointers.mkdir(exist_ok=True)
    (pointers / "config.json").write_text('{"model_type": "llama"}')
    (pointers / "model.safetensors").write_text(
        "version https://git-lfs.github.com/spec/v1\noid sha256:" + "ab" * 32 + "\nsize 123\n"
    )
    config = (
        "slices:\n  - sources:\n      - model: acme/not-here\n        layer_range: [0, 4]\n"
        "  - sources:\n      - model: sources/pointers\n        layer_range: [4, 8]\n"
        "  - sources:\n      - model: sources/b\n        layer_range: [2, 6]\n"
        "  - sources:\n      - model: sources/a\n        layer_range: [12, 13]\n"
        "base_model: /home/someone/merges/base\n"
        "models:\n  - model: sources/a+sources/lora\n"
    )
    found = checks(project, merged_folder(project, "passthrough", mlp(4), config))
    reasons = {name: c["reason"] for name, c in found.items()}
    assert {c["verdict"] for c in found.values()} == {"not_checked"}, [
        c["sentence"] for c in found.values()
    ]
    assert "not in the Hugging Face cache" in reasons["acme/not-here"]
    assert "the Hub is not asked" in reasons["acme/not-here"]
    assert reasons["sources/pointers"] == "the source has only Git LFS pointers, not weights"
    assert reasons["sources/a"].startswith("no matched matrix")  # its slice's layer 12 is not here
    assert found["sources/a"]["thresholds"]["consistent_from"] == MERGE_CONSISTENT_FROM
    assert reasons["sources/b"].startswith(
        "its layers sit at other depths in the merge (layers 2–6 at 8–12)"
    )
    assert reasons["/home/someone/merges/base"].startswith("an absolute path outside the project")
    assert (
        reasons["sources/a+sources/lora"]
        == "a model with a LoRA applied (model+lora) is not compared"
    )
    assert found["sources/pointers"]["location"] == "sources/pointers"
    assert merge_findings(tuple(c["_check"] for c in found.values())) == []


def test_a_hub_id_source_is_read_from_the_local_hugging_face_cache(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real config's shape (tests: /work/shared/realcases mergekit-yi15-6b-slerp): Hub ids
    in slices, found offline in the cache's snapshots/<commit>/ folder."""
    from safetensors.numpy import load_file

    cache = project / "hf-cache"
    commit = "1" * 40
    repo = cache / "models--acme--source-a"
    snapshot = model_folder(repo / "snapshots" / commit, mlp(1))
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    ta, tb = load_file(str(snapshot / "model.safetensors")), mlp(2)
    config = (
        "slices:\n  - sources:\n      - model: acme/source-a\n        layer_range: [0, 8]\n"
        "      - model: sources/b\n        layer_range: [0, 8]\nmerge_method: slerp\n"
        "base_model: acme/source-a\n"
    )
    found = checks(project, merged_folder(project, "hub", slerp(ta, tb, 0.5), config))
    hub = found["acme/source-a"]
    assert hub["verdict"] == "consistent" and hub["location"] == "acme/source-a"
    assert hub["tensors"] == 8  # the layers of its slices: the embedding is not judged


def test_paths_leading_out_of_the_project_are_never_read(tmp_path: Path) -> None:
    """A relative path that climbs out, and a link in the model folder that leads out: refused by
    name (MC627, low), their files never opened; the build does not fail."""
    outside = model_folder(tmp_path / "outside", mlp(1))
    root = tmp_path / "project"
    folder = merged_folder(
        root, "m", mlp(1),
        "models:\n  - model: ../../../outside\n  - model: escape\n  - model: ../m\n"
        '  - model: fifo\n  - model: "a\\x00b"\n',
    )  # fmt: skip
    os.symlink(outside, folder / "escape")
    os.mkfifo(folder / "fifo")
    opened: list[str] = []
    real_open = os.open

    def watch(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        opened.append(os.fspath(path))
        return real_open(path, *args, **kwargs)

    import modelcards.resolve.local as local

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(local.os, "open", watch)
        found = checks(root, folder)
    assert not any(p.startswith(str(outside)) and p.endswith(".safetensors") for p in opened)
    for name in ("../../../outside", "escape"):
        assert found[name]["verdict"] == "not_checked" and found[name]["outside_project"]
        assert found[name]["reason"] == "the path leads outside the project: not read"
    assert found["../m"]["reason"] == "names the merged model's own folder"
    assert found["fifo"]["reason"] == "not a folder"  # never opened: no hang
    assert "a\x00b" not in found  # a name with control characters is no source
    risks = merge_findings(tuple(c["_check"] for c in found.values()))
    assert sorted((r.rule, r.severity.value, r.evidence["source"]) for r in risks) == [
        ("MC627", "low", "../../../outside"), ("MC627", "low", "escape")
    ]  # fmt: skip


def test_hostile_configs_are_no_sources_and_no_error(tmp_path: Path) -> None:
    """Malformed YAML, a YAML alias, a list at the top, absurd layer ranges: no sources read, no
    traceback (the recipe notes the unreadable file)."""
    for text in ("models: [", "a: &x [1]\nb: *x\n", "- model: a\n", "models: 3\n"):
        folder = merged_folder(tmp_path, "h", None, text)
        snapshot = open_folder(folder)
        merge = read_merge_config(snapshot)
        assert merge is None or merge.sources == (), text
    folder = merged_folder(
        tmp_path, "ranges", None,
        "slices:\n  - sources:\n      - model: x\n        layer_range: [5, 2]\n"
        "      - model: y\n        layer_range: [0, 99999999999]\n"
        + "".join(f"  - sources: [{{model: m{i}}}]\n" for i in range(100)),
    )  # fmt: skip
    merge = read_merge_config(open_folder(folder))
    assert merge is not None and len(merge.sources) == 64 and merge.left_out == 38
    assert all(s.placements == () for s in merge.sources)
    json.dumps([s.reference for s in merge.sources])


def test_build_deep_writes_each_source_verdict_in_card_and_card_json(tmp_path: Path) -> None:
    """End to end: a project whose merge names a real source and an unrelated one; the card
    says it per source, card.json has what the schema requires, the risks carry MC626, and
    the card counts as made with --deep. (The whole card.json is validated by
    tests/test_build.py; jsonschema's import alone takes seconds.)"""
    from safetensors.numpy import load_file

    from modelcards import api
    from modelcards.project.state import built_deep
    from modelfiles import git

    root = tmp_path / "project"
    ta, tb = mlp(1), mlp(2)
    model_folder(root / "sources" / "a", ta)
    model_folder(root / "sources" / "c", mlp(3))
    merged_folder(
        root, "merge", linear({0: 0.5, 1: 0.5}, {0: ta, 1: tb}),
        "models:\n  - model: sources/a\n  - model: sources/c\nmerge_method: linear\n",
    )  # fmt: skip
    (root / "modelcards.yml").write_text("models:\n  - path: models/merge\n")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "merge")
    schema = json.loads(
        (Path(__file__).parents[2] / "modelcards/schema/card.schema.json").read_text()
    )

    def validate(data: dict) -> None:
        assert set(schema["required"]) <= data.keys()
        assert data["schema_version"] == schema["properties"]["schema_version"]["const"]
        items = schema["properties"]["merge_sources"]["items"]
        for source in data["merge_sources"]:
            assert set(items["required"]) <= source.keys()
            assert source["verdict"] in items["properties"]["verdict"]["enum"]

    api.build(root, deep=True, site=False, jobs=1)
    data = json.loads((root / "models/merge/card.json").read_text())
    validate(data)
    verdicts = {s["reference"]: s["verdict"] for s in data["merge_sources"]}
    assert verdicts == {"sources/a": "consistent", "sources/c": "not_derived"}
    assert [r["rule"] for r in data["risks"] if r["rule"].startswith("MC62")] == ["MC626"]
    card = (root / "models/merge/README.md").read_text()
    assert "- Merge source sources/a: its weights are in the merge (median similarity 0.7" in card
    assert "- Merge source sources/c: its weights are not in the merge (median" in card
    assert load_file(str(root / "sources/a/model.safetensors")).keys() == ta.keys()
    # a card built with --deep is not current for a build without it (and back): the merge has
    # no base, so no deep compare of its own tells
    assert built_deep(data)
    listed = dict(data, merge_sources=[dict(s, deep=False) for s in data["merge_sources"]])
    assert not built_deep(listed)
