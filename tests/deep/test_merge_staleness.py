"""A card made with --deep states a verdict per mergekit source: it goes stale when a source's
files change (on the record's fast path and on the slow path alike), and `build --deep`
rewrites it with the new verdict; an unchanged source leaves it current and build writes
nothing; a card made without --deep read no source and never goes stale for one.

A real git project: a linear merge of two source folders kept in the project (real
safetensors), and a model with no mergekit config beside it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from test_record import no_mkdocs

from modelcards.history import ProjectGit
from modelcards.project.build import build_project
from modelcards.project.check import check_project
from modelcards.project.config import load_config
from modelcards.project.record import RECORD, KeyMaker, read_record
from modelcards.project.state import project_lock
from modelcards.safeio.hashcache import HashCache
from modelfiles import git

from .helpers import model_folder
from .test_merge_sources import linear, merged_folder
from .test_similarity import mlp

MERGE, PLAIN = "models/merge", "models/plain"
CONFIG = "models:\n  - model: ../../sources/a\n  - model: sources/b\nmerge_method: linear\n"


def build(root: Path, deep: bool = True, site: bool = True) -> tuple[str, ...]:
    with pytest.MonkeyPatch.context() as patch:
        no_mkdocs(patch)
        config = load_config(root)
        return build_project(config, cache=HashCache(), jobs=1, deep=deep, site=site).written


def commit(root: Path, message: str) -> None:
    git(root, "add", "-A")
    git(root, "commit", "-qm", message)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The merge of sources a and b, its card built with --deep, all committed."""
    root = tmp_path_factory.mktemp("merge-staleness") / "repo"
    ta, tb = mlp(1), mlp(2)
    model_folder(root / "sources" / "a", ta)
    model_folder(root / "sources" / "b", tb)
    merged_folder(root, "merge", linear({0: 0.5, 1: 0.5}, {0: ta, 1: tb}), CONFIG)
    model_folder(root / PLAIN, mlp(5))
    (root / "modelcards.yml").write_text(f"models:\n  - path: {MERGE}\n  - path: {PLAIN}\n")
    git(root, "init", "-q")
    commit(root, "feat: a merge")
    build(root)
    commit(root, "docs: cards")
    return root


@pytest.fixture
def project(built: Path, tmp_path: Path) -> Path:
    target = tmp_path / "repo"
    shutil.copytree(built, target, symlinks=True)
    return target


def keys(root: Path) -> dict[str, str | None]:
    """Each model's key as the record would name it now."""
    config = load_config(root)
    maker = KeyMaker(config, ProjectGit(config.root), HashCache(), project_lock(config.root))
    return {e.path: maker.model(e) for e in config.models}


def not_current(root: Path) -> set[str]:
    record = read_record(load_config(root))
    assert record is not None
    return {path for path, key in keys(root).items() if not record.current(path, key)}


def stale(root: Path, *, record: bool = True) -> list[tuple[Any, ...]]:
    """check's stale problems, with the record (its fast path first) or on the slow path alone."""
    kept = root / "modelcards-site" / RECORD
    aside = root.parent / "record-aside.json"
    if not record:
        kept.rename(aside)
    try:
        report = check_project(load_config(root), cache=HashCache())
    finally:
        if not record:
            aside.rename(kept)
    return [(p.model, p.reason) for p in report.problems if p.kind == "stale"]


def verdicts(root: Path) -> dict[str, str]:
    data = json.loads((root / MERGE / "card.json").read_text())
    return {s["reference"]: s["verdict"] for s in data["merge_sources"]}


def change_source_b(root: Path) -> None:
    """sources/b's weights replaced by an unrelated model's: no longer what the merge holds."""
    model_folder(root / "sources" / "b", mlp(3))
    commit(root, "feat: another sources/b")


def test_an_unchanged_source_keeps_the_deep_card_current(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import modelcards.project.merge_identity as identity

    read = identity.read_merge_config
    opened: list[str] = []

    def only_merges(snapshot: Any) -> Any:  # the model with no mergekit config: never read
        opened.append(snapshot.ref.location)
        return read(snapshot)

    monkeypatch.setattr(identity, "read_merge_config", only_merges)
    assert verdicts(project) == {"../../sources/a": "consistent", "sources/b": "consistent"}
    assert not_current(project) == set()  # the record's keys name the sources' blobs
    assert stale(project) == [] and stale(project, record=False) == []
    assert build(project) == ()  # nothing written, not even the record
    assert opened and {Path(location).name for location in opened} == {"merge"}


def test_a_changed_source_makes_the_deep_card_stale_and_build_deep_rewrites_it(
    project: Path,
) -> None:
    change_source_b(project)
    assert not_current(project) == {MERGE}  # the model with no mergekit config keeps its key
    reason = (
        "stale card: its base, a merge source, history, configuration, templates or front "
        "matter changed; run `modelcards build` and commit the result"
    )
    assert stale(project) == [("merge", reason)]
    assert stale(project, record=False) == [("merge", reason)]
    written = build(project)
    assert f"{MERGE}/card.json" in written and not any(p.startswith(PLAIN) for p in written)
    assert verdicts(project) == {"../../sources/a": "consistent", "sources/b": "not_derived"}
    commit(project, "docs: cards")
    assert not_current(project) == set() and stale(project) == []


def test_a_card_made_without_deep_does_not_depend_on_its_sources(project: Path) -> None:
    """It read none: a source that changed (or is not on this machine) changes nothing."""
    build(project, deep=False, site=False)  # the cards only: the keys are made below
    assert set(verdicts(project).values()) == {"not_checked"}
    commit(project, "docs: cards without --deep")
    before = keys(project)
    change_source_b(project)
    shutil.rmtree(project / "sources" / "a")
    commit(project, "chore: sources/a elsewhere")
    assert keys(project) == before
    assert stale(project, record=False) == []
    assert build(project, deep=False, site=False) == ()


def test_a_source_from_the_hugging_face_cache_is_named_by_its_commit_and_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Hub id found in this machine's cache: the fingerprint names the snapshot's commit and
    files (a new commit, or a shard that arrives, makes the deep card stale); the record's key
    has no name for a folder outside the project, so the model takes the slow path."""
    from modelcards.project.merge_identity import source_identities, source_key
    from modelcards.resolve import open_folder

    cache = tmp_path / "hf-cache" / "models--acme--source-a"
    (cache / "refs").mkdir(parents=True)
    for sha, seed in (("1" * 40, 1), ("2" * 40, 2)):
        model_folder(cache / "snapshots" / sha, mlp(seed))
    (cache / "refs" / "main").write_text("1" * 40)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    root = tmp_path / "repo"
    folder = merged_folder(root, "merge", mlp(1), "models:\n  - model: acme/source-a\n")
    (root / "modelcards.yml").write_text(f"models:\n  - path: {MERGE}\n")
    git(root, "init", "-q")
    commit(root, "feat: a merge of a cached model")
    config = load_config(root)
    (entry,) = config.models
    project_git = ProjectGit(config.root)

    def identities() -> Any:
        snapshot = open_folder(folder, project_root=root)
        files = snapshot.files()
        return source_identities(config, entry, snapshot, files, HashCache(), project_git)

    ((reference, kind, location, revision, files),) = first = identities()
    assert (reference, kind, location, revision) == ("acme/source-a", "hf-cache", "acme/source-a",
                                                   "1" * 40)  # fmt: skip
    assert [f[0] for f in files] == ["config.json", "model.safetensors"]
    (cache / "refs" / "main").write_text("2" * 40)
    assert identities() != first
    maker = KeyMaker(config, project_git, HashCache(), None)
    listing = maker.folder(MERGE)
    assert source_key(maker, entry, listing) == []  # no card yet: none made with --deep
    (folder / "card.json").write_text(json.dumps({"merge_sources": [{"deep": True}]}))
    assert source_key(maker, entry, listing) is None
