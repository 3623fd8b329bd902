"""Project and model files built to crash, stall or bloat a build: each gives an answer (with
what could not be read said) or one clean line and exit 2 — never a traceback, never a card the
next build cannot read back."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from modelcards.publish import mkdocs_build
from modelfiles import run_modelcards

CONFIG = "models/chat-tuned/config.json"
CARD = "models/chat-tuned/README.md"


def _edit_config(repo: Path, **changes: object) -> None:
    data = json.loads((repo / CONFIG).read_text())
    data.update(changes)
    (repo / CONFIG).write_text(json.dumps(data))


def _build(repo: Path, *args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = run_modelcards("build", "--no-site", *args, cwd=repo, **kwargs)  # type: ignore[arg-type]
    assert "Traceback" not in result.stderr, result.stderr
    return result


def _one_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("modelcards: error")]
    assert lines, result.stderr
    return lines[0]


@pytest.mark.parametrize("where", ["modelcards.yml", CARD])
def test_deeply_nested_yaml_fails_fast_naming_the_file(repo: Path, where: str) -> None:
    deep = "x: " + "[" * 5000 + "]" * 5000 + "\n"
    path = repo / where
    if where == CARD:
        path.write_text("---\n" + deep + "---\n# card\n")
    else:
        path.write_text(path.read_text() + deep)
    started = time.monotonic()
    line = _one_error(_build(repo))
    assert time.monotonic() - started < 30  # was 20-70 s, then a RecursionError
    assert where.rsplit("/", 1)[-1] in line and "nested deeper than" in line


def test_a_tagged_card_default_is_plain_data(repo: Path) -> None:
    config = repo / "modelcards.yml"
    config.write_text(config.read_text() + "card:\n  library_name: !!str transformers\n")
    assert _build(repo).returncode == 0
    assert "library_name: transformers" in (repo / CARD).read_text()


@pytest.mark.parametrize("where", ["modelcards.yml", CARD])
def test_a_value_its_tag_cannot_hold_is_one_line_naming_the_file(repo: Path, where: str) -> None:
    """`!!int notanint` (the fuzzer's): the YAML library raised a bare ValueError."""
    path = repo / where
    if where == CARD:
        path.write_text("---\nlicense: !!int notanint\n---\n# card\n")
    else:
        path.write_text(path.read_text() + "extra: !!int notanint\n")
    result = _build(repo)
    line = _one_error(result)
    assert result.returncode == 2
    assert where.rsplit("/", 1)[-1] in line and "does not fit its tag" in line


def test_a_corrupt_hash_cache_is_rebuilt(repo: Path, tmp_path: Path) -> None:
    cache = tmp_path / "hashes.json"
    for corrupt in ('{"version":1,"stat":5}', '{"version":1,"stat":{"k":5},"blob":[]}', "[1]"):
        cache.write_text(corrupt)
        assert _build(repo, env={"MODELCARDS_CACHE": str(cache)}).returncode == 0
        saved = json.loads(cache.read_text())
        assert isinstance(saved["stat"], dict) and saved["stat"], corrupt


def test_huge_values_and_many_files_make_a_card_the_next_build_reads(repo: Path) -> None:
    _edit_config(repo, notes="x" * 6_000_000, padding=["y" * 100] * 20_000)
    data = repo / "models/chat-tuned/data"
    data.mkdir()
    for i in range(700):
        (data / f"part-{i:04d}.txt").write_text(str(i))
    assert _build(repo).returncode == 0
    card = (repo / CARD).read_text()
    assert len(card.encode()) < 1024 * 1024
    assert "[5,998,000 more characters not shown]" in card.replace("\\", "")
    assert re.search(r"and 2\d\d more files", card)
    card_json = json.loads((repo / "models/chat-tuned/card.json").read_text())
    assert len(card_json["provenance"]["files"]) > 700  # card.json lists every one
    assert _build(repo).returncode == 0  # and the next build reads the card back


def test_a_file_name_that_is_not_utf8_is_listed_as_not_read(repo: Path) -> None:
    name = os.fsdecode(b"bad\xff.txt")
    (repo / "models/chat-tuned" / name).write_text("x")
    assert _build(repo).returncode == 0
    assert "bad\\\\xff.txt: file name is not valid UTF-8" in (repo / CARD).read_text()


def test_a_utf16_config_is_named(repo: Path) -> None:
    text = (repo / CONFIG).read_text()
    (repo / CONFIG).write_text(text, encoding="utf-16")
    result = _build(repo)
    assert result.returncode == 2 and "config.json" in result.stderr and "UTF-8" in result.stderr


def test_a_float_vocab_size_is_a_change_like_any_other(repo: Path) -> None:
    _edit_config(repo, vocab_size=32000.5)
    assert _build(repo).returncode == 0
    assert "vocabulary" in (repo / CARD).read_text().lower()


def test_governance_evidence_outside_the_project_is_refused(repo: Path) -> None:
    config = repo / "modelcards.yml"
    config.write_text(config.read_text() + "governance:\n  bias_evaluation: ../../etc/passwd\n")
    line = _one_error(_build(repo))
    assert "governance.bias_evaluation" in line and "inside the project" in line


def test_error_lines_quoting_a_huge_value_are_cut(repo: Path) -> None:
    config = repo / "modelcards.yml"
    config.write_text(config.read_text() + "policy:\n  fail_on: " + "z" * 100_000 + "\n")
    line = _one_error(_build(repo))
    assert len(line) < 1200 and "more characters" in line


def test_cards_follow_the_umask(repo: Path) -> None:
    (repo / CARD).unlink()
    result = subprocess.run(
        [sys.executable, "-c", "import os,sys; os.umask(0o022); from modelcards.cli import main;"
         " sys.argv=['modelcards','build','--no-site','-q']; main()"],
        cwd=repo, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (repo / CARD).stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize(
    ("args", "expected"),
    [(("build", "--nosuch"), "No such option"), (("serve", "-a", "bogus"), "is not IP:PORT")],
)
def test_usage_errors_are_one_line_like_any_other(
    repo: Path, args: tuple[str, ...], expected: str
) -> None:
    line = _one_error(run_modelcards(*args, cwd=repo))
    assert expected in line and "--help" in line


def test_scan_flags_a_weight_map_out_of_the_folder(repo: Path) -> None:
    index = repo / "models/chat-tuned/model.safetensors.index.json"
    index.write_text(json.dumps({"weight_map": {"a": "../../base-model/model.safetensors"}}))
    result = run_modelcards("scan", "models/chat-tuned", "--format", "json", cwd=repo)
    assert result.returncode == 1
    rules = {f["rule"] for f in json.loads(result.stdout)["findings"]}
    assert "MC209" in rules


def test_ctrl_c_during_the_site_build_leaves_no_work_folders(repo: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "modelcards", "build"],
        cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not list(repo.glob(".site-build-*/shard-*.log")) and process.poll() is None:
        assert time.monotonic() < deadline  # until mkdocs has started, in its work folder
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    if process.returncode == 0:
        pytest.skip("the site build finished before the interrupt arrived")
    assert process.returncode == 130, stderr
    assert b"Traceback" not in stderr
    assert not list(repo.glob(".site-build-*"))


def test_a_full_disk_during_the_site_build_is_one_line_and_keeps_the_site(repo: Path) -> None:
    assert run_modelcards("build", "-q", cwd=repo).returncode == 0
    index = (repo / "site/index.html").read_bytes()
    (repo / CONFIG).write_text((repo / CONFIG).read_text().replace("}", ', "x": 1}', 1))

    def small_files() -> None:  # every write past 96 KB fails, as on a full disk: the cards
        import resource  # (card.json ~70 KB) are written, the theme's 110 KB+ assets are not

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (96 * 1024, 96 * 1024))

    result = subprocess.run(
        [sys.executable, "-m", "modelcards", "build", "-q"],
        cwd=repo, capture_output=True, text=True, preexec_fn=small_files, check=False,
    )  # fmt: skip
    line = _one_error(result)
    assert "Traceback" not in result.stderr and "site" in line
    assert (repo / "site/index.html").read_bytes() == index
    assert not list(repo.glob(".site-build-*"))


def test_a_mounted_output_folder_is_refilled_not_renamed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target, new = tmp_path / "site", tmp_path / "new"
    target.mkdir()
    (target / "old.html").write_text("old")
    (target / ".git").mkdir()
    new.mkdir()
    (new / "index.html").write_text("new")
    renames: list[object] = []
    real_replace = os.replace

    def no_rename_of_target(src: object, dst: object) -> None:
        renames.append(src)
        if Path(str(src)) == target:
            raise OSError(16, "Device or resource busy")  # what renaming a mount point does
        real_replace(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(os.path, "ismount", lambda p: Path(p) == target)  # no test can mount
    monkeypatch.setattr(os, "replace", no_rename_of_target)
    mkdocs_build.replace_folder(new, target)
    assert sorted(p.name for p in target.iterdir()) == [".git", "index.html"]


@pytest.mark.parametrize("target", ["/proc/self/environ", "outside"])
def test_a_readme_linked_out_of_the_project_is_never_read(repo: Path, target: str) -> None:
    outside = repo.parent / "outside.md"
    outside.write_text("---\nlicense: mit\n---\nSECRET-OUTSIDE-TEXT\n")
    card = repo / CARD
    card.unlink()
    card.symlink_to(outside if target == "outside" else Path(target))
    result = _build(repo, env={"MC_TEST_SECRET": "SECRET-ENV-TEXT"})
    line = _one_error(result)
    assert "README.md" in line and "outside the project" in line
    written = "".join(
        p.read_text()
        for p in (repo / "models/chat-tuned").glob("*.md")
        if p.is_file() and not p.is_symlink()
    )
    assert "SECRET-OUTSIDE-TEXT" not in written and "SECRET-ENV-TEXT" not in written


def test_previous_outputs_that_are_links_or_bombs_are_no_outputs(repo: Path) -> None:
    assert _build(repo, "-q").returncode == 0
    card_json = repo / "models/chat-lora/card.json"
    card_json.unlink()
    card_json.symlink_to("/dev/urandom")  # was: every build, check and export hung here
    (repo / "models/chat-tuned/card.json").write_text("[" * 100_000 + "]" * 100_000)
    for args in (("check",), ("export", "chat-lora", "-o", "bom.json")):
        result = run_modelcards(*args, cwd=repo, timeout=120)
        assert "Traceback" not in result.stderr and result.returncode in (0, 1), result.stderr
    assert _build(repo).returncode == 0
    assert not card_json.is_symlink() and json.loads(card_json.read_text())["model"]


def test_a_card_with_a_begin_marker_and_no_end_names_the_line(repo: Path) -> None:
    assert _build(repo, "-q").returncode == 0
    card = repo / CARD
    text = card.read_text()
    cut_at = text.index("<!-- modelcards:begin header -->") + 40
    card.write_text(text[:cut_at])
    line = _one_error(_build(repo))
    expected = text[:cut_at].count("\n", 0, text.index("<!-- modelcards:begin header -->")) + 1
    assert f"line {expected}:" in line and "no matching end marker" in line
    assert card.read_text() == text[:cut_at]  # nothing guessed, nothing written


def test_a_config_that_is_not_utf8_or_names_impossible_paths(repo: Path) -> None:
    config = repo / "modelcards.yml"
    original = config.read_text()
    config.write_bytes(original.encode() + b"\xff\xfe\n")
    assert "modelcards.yml: not UTF-8" in _one_error(_build(repo))
    config.write_text(original.replace("base: {path: base-model, id: acme/tiny-llama-base}",
                                       "base: " + "a" * 2000, 1))  # fmt: skip
    assert "longer than 1024 characters" in _one_error(run_modelcards("check", cwd=repo))


def test_a_folder_where_a_file_belongs_is_one_line(repo: Path) -> None:
    assert _build(repo, "-q").returncode == 0
    card_json = repo / "models/chat-tuned/card.json"
    card_json.unlink()
    card_json.mkdir()  # a previous output that is a folder: no output, so stale
    result = run_modelcards("check", cwd=repo)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "card.json: cannot write" in _one_error(_build(repo))
    (repo / "modelcards.yml").unlink()
    (repo / "modelcards.yml").mkdir()
    assert "modelcards.yml: is not a regular file" in _one_error(run_modelcards("check", cwd=repo))


@pytest.mark.parametrize("dtype", [[1, 2], {"a": 1}, "F33"])
def test_a_safetensors_dtype_of_the_wrong_type_names_the_file(repo: Path, dtype: object) -> None:
    import struct

    header = json.dumps({"w": {"dtype": dtype, "shape": [1], "data_offsets": [0, 4]}}).encode()
    weights = repo / "models/chat-tuned/model.safetensors"
    weights.write_bytes(struct.pack("<Q", len(header)) + header + bytes(4))
    line = _one_error(_build(repo))  # was: TypeError (unhashable list) from the fuzzer
    assert "model.safetensors" in line and "unknown dtype" in line


def test_a_hand_edited_card_json_of_the_wrong_shapes_is_read_by_types(repo: Path) -> None:
    assert _build(repo, "-q").returncode == 0
    _edit_config(repo, use_cache=False)  # stale, so check reads the recorded card.json
    card_json = repo / "models/chat-tuned/card.json"
    data = json.loads(card_json.read_text())
    data["provenance"]["files"] = [{"path": 5, "sha256": []}, "x", {"path": "a"}]
    data["risks"] = [{"rule": ["x"], "message": {"m": 1}, "waiver": [1]}, 7]
    card_json.write_text(json.dumps(data))
    result = run_modelcards("check", cwd=repo)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr


def test_a_model_file_whose_name_is_not_utf8_is_still_scanned(repo: Path) -> None:
    from hostile_helpers import evil

    (repo / "models/chat-tuned" / os.fsdecode(b"mod\xe9l.pkl")).write_bytes(evil())
    result = run_modelcards("scan", "models/chat-tuned", "--format", "json", cwd=repo)
    assert result.returncode == 1, result.stderr
    found = {(f["rule"], f["file"]) for f in json.loads(result.stdout)["findings"]}
    assert ("MC101", "mod\\xe9l.pkl") in found  # read, and reported under a name JSON can hold
    assert _build(repo).returncode == 0  # the card's risk table names it the same way
    assert "mod\\\\xe9l.pkl" in (repo / CARD).read_text()


def test_a_lone_surrogate_escape_in_a_json_file_reaches_no_output_raw(repo: Path) -> None:
    base_config = repo / "base-model/config.json"
    base_config.write_text(base_config.read_text().replace("{", '{"mc_note": "\\ud800",', 1))
    assert _build(repo).returncode == 0  # was: UnicodeEncodeError writing the card (fuzzer)
    assert "ud800" in (repo / CARD).read_text()  # the diff names the key, the value escaped
    result = run_modelcards("export", "chat-tuned", cwd=repo)
    assert result.returncode == 0, result.stderr


def test_scan_of_a_symlink_to_itself_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "self.pkl").symlink_to("self.pkl")
    line = _one_error(run_modelcards("scan", "self.pkl", cwd=tmp_path))
    assert "self.pkl" in line and "symlink loop" in line
