"""The shortcuts that let `check` and a no-change `build` answer 1,000 models in about a second
give the answers of the plain code they replace (kept here as the reference)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from modelcards.history.gitlog import GENERATED_NAMES, ProjectGit
from modelcards.inspect import CARD_OUTPUTS
from modelcards.project.config import load_config
from modelcards.project.state import all_nested_outputs, previous_context, previous_member
from modelcards.safeio.errors import InspectError
from modelcards.safeio.jsonfile import MAX_DEPTH, loads_strict
from modelfiles import git, run_modelcards


def reference_source_files(
    changed: list[str], paths: list[str], skip: tuple[str, ...]
) -> list[str]:
    """`ProjectGit._source_files` as it was: a scan of every changed name."""
    prefixes = tuple(p.rstrip("/") + "/" for p in paths if p)
    return sorted(
        name
        for name in changed
        if name.split("/")[-1] not in GENERATED_NAMES
        and not name.startswith(skip)
        and ("" in paths or name in paths or name.startswith(prefixes))
    )


def test_files_under_a_model_are_found_by_bisection_as_by_a_scan() -> None:
    rng = random.Random(17)
    parts = ["models", "m1", "m10", "m1x", "a", "a.b", "a-b", "site", "README.md", "w.bin"]
    names = sorted({"/".join(rng.choices(parts, k=rng.randint(1, 4))) for _ in range(3000)})
    for _ in range(300):
        paths = [
            "/".join(rng.choices(parts, k=rng.randint(1, 3))) for _ in range(rng.randint(1, 3))
        ]
        if rng.random() < 0.05:
            paths.append("")
        skip = ("models/site/",) if rng.random() < 0.5 else ()
        assert ProjectGit._source_files(names, paths, skip) == reference_source_files(
            names, paths, skip
        ), paths


def reference_nested(paths: list[str], sites: list[str]) -> dict[str, frozenset[str]]:
    result = {}
    for path in paths:
        prefix = "" if path in ("", ".") else path.rstrip("/") + "/"
        cards = {
            f"{other[len(prefix) :]}/{name}"
            for other in paths
            if other != path and other.startswith(prefix)
            for name in CARD_OUTPUTS  # what build writes, and the signatures beside it
        }
        result[path] = frozenset(cards | {f[len(prefix) :] for f in sites if f.startswith(prefix)})
    return result


def test_outputs_nested_in_a_model_folder_are_found_in_one_pass(tmp_path: Path) -> None:
    paths = [".", "models", "models/a", "models/a/b", "models/ab", "models/a-b", "other/x"]
    for path in paths:
        (tmp_path / path).mkdir(parents=True, exist_ok=True)
    (tmp_path / "modelcards.yml").write_text(
        "models:\n"
        + "".join(f"  - path: {p}\n    name: n{i}\n" for i, p in enumerate(paths))
        + "site: {dir: models/site-src, output: site}\n"
    )
    config = load_config(tmp_path)
    assert all_nested_outputs(config) == reference_nested(paths, ["models/site-src/", "site/"])


def reference_depth(value: object) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if isinstance(item, dict):
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, level + 1) for v in item)
    return deepest


@pytest.mark.parametrize("levels", [MAX_DEPTH - 2, MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1])
def test_the_nesting_bound_is_exact(levels: int) -> None:
    """`[[…[1]…]]` with `levels` brackets is levels + 1 deep: the scalar is a level."""
    text = "[" * levels + "1" + "]" * levels
    if reference_depth(json.loads(text)) > MAX_DEPTH:
        with pytest.raises(InspectError, match="nested more than"):
            loads_strict(text, file="x.json")
    else:
        assert loads_strict(text, file="x.json") == json.loads(text)


def test_depth_counts_as_the_walk_did() -> None:
    rng = random.Random(3)

    def grow(level: int) -> object:
        if level > 12 or rng.random() < 0.3:
            return rng.choice([1, "s", None, [], {}])
        if rng.random() < 0.5:
            return [grow(level + 1) for _ in range(rng.randint(0, 3))]
        return {f"k{i}": grow(level + 1) for i in range(rng.randint(0, 3))}

    from modelcards.safeio.jsonfile import _depth

    for _ in range(200):
        value = grow(0)
        assert _depth(value) == reference_depth(value)


def test_a_duplicate_key_is_still_refused() -> None:
    with pytest.raises(InspectError, match="duplicate key 'a'"):
        loads_strict('{"b": 1, "a": 1, "a": 2}', file="x.json")
    assert loads_strict('{"a": {"a": 1}}', file="x.json") == {"a": {"a": 1}}


def test_one_member_of_card_json_is_what_the_whole_parse_gives(repo: Path) -> None:
    assert run_modelcards("build", "-q", "--no-site", cwd=repo).returncode == 0
    cards = sorted(repo.glob("models/*/card.json"))
    assert cards
    for card in cards:
        text = card.read_text()
        whole = previous_context(text)
        for key in ("risks", "provenance", "diff", "model", "absent"):
            assert previous_member(text, key) == whole.get(key), (card, key)


@pytest.mark.parametrize(
    "text",
    [
        '{"risks": [{"rule": "MC1"}]}',  # not as build lays it out: parsed whole
        '{\n  "a": 1,\n  "risks": [1],\n  "risks": [2]\n}',  # twice: refused whole, as before
        '{\n  "risks": [1]\n',  # cut short after the member: the whole parse says no
        '{\n  "x": "\\n  \\"risks\\": [9]",\n  "risks": [1]\n}',
        "",
        "[]",
    ],
)
def test_a_card_json_not_laid_out_as_build_writes_it_is_parsed_whole(text: str) -> None:
    assert previous_member(text, "risks") == previous_context(text).get("risks")


def test_a_member_nested_too_deep_is_no_member() -> None:
    text = '{\n  "risks": ' + "[" * 300 + "]" * 300 + "\n}\n"
    assert previous_member(text, "risks") is None


def test_check_still_fails_a_finding_of_a_current_card(repo: Path) -> None:
    """A card that is current but records a finding the policy does not accept still fails
    the gate: the risks come from card.json's member alone now."""
    assert run_modelcards("build", "-q", cwd=repo).returncode == 0
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "docs: cards")
    config = repo / "modelcards.yml"
    config.write_text(config.read_text() + "policy:\n  fail_on: info\n")
    assert run_modelcards("build", "-q", cwd=repo).returncode in (0, 1)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "docs: strict policy")
    result = run_modelcards("check", cwd=repo)
    risks = [
        r
        for card in repo.glob("models/*/card.json")
        for r in json.loads(card.read_text())["risks"]
        if not r.get("waived")
    ]
    assert risks, "the example has findings"
    assert result.returncode == 1
    assert "not waived" in result.stdout
    assert "stale" not in result.stdout


def test_tag_patterns_match_as_fnmatch_does() -> None:
    import fnmatch

    from modelcards.history.gitlog import _matching

    names = sorted(["v1", "v1.0", "v10", "a/v1", "a/v2", "ab/v1", "a/x", "[a]/v1", "a*/v1", ""])
    for pattern in ["v*", "a/v*", "ab/v*", "*", "a/v1", "[a]/v*", "a*/v*", "a?/v*", "x*", "a\\/v*"]:
        assert _matching(names, pattern) == fnmatch.filter(names, pattern), pattern


def test_generated_blocks_are_found_as_the_regular_expression_finds_them() -> None:
    from modelcards.render.card_blocks import BLOCK, blocks

    rng = random.Random(5)
    pieces = [
        "<!-- modelcards:begin a -->\n",
        "<!-- modelcards:end a -->",
        "<!-- modelcards:begin b-1 -->\n",
        "<!-- modelcards:end b-1 -->",
        "<!-- modelcards:begin a -->",  # no newline: not a begin marker
        "<!-- modelcards:begin A -->\n",  # not a name
        "<!-- modelcards:end b -->",
        "<!-- modelcards:begin ",
        "\n",
        "text ",
        "é",
    ]
    for _ in range(2000):
        body = "".join(rng.choices(pieces, k=rng.randint(0, 12)))
        expected = [(m.start(), m.end(), m.group("name")) for m in BLOCK.finditer(body)]
        assert list(blocks(body)) == expected, body


def test_the_shortest_lfs_pointer_is_still_read_as_one(tmp_path: Path) -> None:
    from modelcards.resolve import open_folder
    from modelcards.resolve.snapshot import MIN_LFS_POINTER_BYTES

    pointer = b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"a" * 64 + b"\nsize 0"
    assert len(pointer) == MIN_LFS_POINTER_BYTES
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "w.bin").write_bytes(pointer)
    (tmp_path / "m" / "tiny.json").write_bytes(b"{}")
    files = {f.path: f for f in open_folder(tmp_path / "m").files()}
    assert files["w.bin"].lfs_pointer and files["w.bin"].sha256 == "a" * 64
    assert not files["tiny.json"].lfs_pointer


def outputs_of(root: Path) -> dict[str, bytes]:
    names = ("README.md", "CHANGES.md", "card.json", "weight-changes.svg")
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.name in names and ".git" not in p.parts and "models" in p.parts
    }


def test_a_build_after_a_change_writes_what_a_build_from_scratch_writes(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the changed model is rendered again; the others are kept from disk — and the
    result is byte for byte what a build that renders every model writes."""
    import shutil

    assert run_modelcards("build", "-q", "--no-site", cwd=repo).returncode == 0
    # a first card is made from the author's README; rendered again, from the README build
    # wrote (whose front matter now names the base, one more claim): from then on the same
    for generated in repo.rglob("card.json"):
        generated.unlink()
    assert run_modelcards("build", "-q", "--no-site", cwd=repo).returncode == 0
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "docs: cards")
    again = run_modelcards("build", "--no-site", "--format", "json", cwd=repo)
    assert json.loads(again.stdout)["written"] == []  # nothing changed: nothing written
    config = repo / "models/chat-tuned/config.json"
    data = json.loads(config.read_text())
    data["rope_theta"] = 123456.0
    config.write_text(json.dumps(data, indent=2))
    git(repo, "commit", "-qam", "feat: another rope_theta")
    scratch = tmp_path / "scratch"
    shutil.copytree(repo, scratch, symlinks=True)
    for generated in [*scratch.rglob("card.json"), *scratch.rglob("CHANGES.md")]:
        generated.unlink()  # nothing left to keep: every model is rendered
    monkeypatch.setenv("MODELCARDS_CACHE", str(tmp_path / "fresh-hashes.json"))
    incremental = run_modelcards("build", "--no-site", "--format", "json", cwd=repo)
    assert incremental.returncode == 0, incremental.stderr
    written = json.loads(incremental.stdout)["written"]
    assert written and all(path.startswith("models/chat-tuned/") for path in written)
    assert run_modelcards("build", "-q", "--no-site", cwd=scratch).returncode == 0
    assert outputs_of(repo) == outputs_of(scratch)
