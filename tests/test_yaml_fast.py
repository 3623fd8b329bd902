"""The libyaml fast path reads a config exactly as ruamel's round trip does, or not at all."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest

from modelcards.project.config import find_config, load_config
from modelcards.safeio.errors import ConfigError
from modelcards.safeio.yamlfast import load_plain_yaml
from modelcards.safeio.yamlsafe import load_yaml

pytest.importorskip("yaml._yaml")  # libyaml is what makes it fast


def plain(value: Any) -> Any:
    """ruamel's round-trip types as the plain ones they stand for, types kept exact."""
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    for kind in (bool, int, float, str, dt.datetime, dt.date):
        if isinstance(value, kind):
            return (kind.__name__, kind(value) if kind in (bool, int, float, str) else value)
    assert value is None, type(value)
    return None


def tagged(value: Any) -> Any:
    """The fast path's value with the same type tags as `plain`."""
    if isinstance(value, dict):
        return {tagged(k): tagged(v) for k, v in value.items()}
    if isinstance(value, list):
        return [tagged(v) for v in value]
    return None if value is None else (type(value).__name__, value)


SAME = [
    "models:\n  - path: models/a\n    base: base\n",
    "a: true\nb: False\nc: TRUE\nd: yes\ne: no\nf: on\ng: off\nh: y\n",
    "a: null\nb: ~\nc:\nd: Null\ne: NULL\nf: nil\n",
    "a: 0\nb: 12\nc: -3\nd: 7b-chat\ne: 1.0.0\nf: v1\ng: 2x\n",
    "a: 'quoted: 1'\nb: \"0x10\"\nc: '2026-01-01'\nd: \"true\"\n",
    "a: |\n  literal\n  text\nb: >-\n  folded\n  text\nc: |+\n  kept\n\n",
    "site: {enabled: false, dir: docs, title: 'My models'}\n",
    "a: [1, two, 'three', {four: 4}]\nb: []\nc: {}\n",
    "# a comment\nmodels: # another\n  - path: x  # more\n",
    "a: plain text with:colons inside\nb: multi\n  line plain\n",
    "b: --x\nc: .hidden\nd: -.x\ne: +plus\n",
    "key with spaces: value\n'quoted key': 1\n",
    "",
    "# only a comment\n",
    'a: "esc \\u00e9 \\t \\\\ done"\n',
    "a: ünïcödé\nb: 日本語\n",
]

UNSURE = [
    "a: 1.5\n",  # floats: left to ruamel
    "a: 1e3\n",
    "a: .inf\n",
    "a: 0x1F\n",
    "a: 0o17\n",
    "a: 017\n",
    "a: 1_000\n",
    "a: +5\n",
    "a: 2026-06-01\n",  # a date
    "a: 2026-06-01 10:00:00\n",
    "a: &x 1\nb: *x\n",  # anchors and aliases
    "a: !!str 1.0\n",  # tags
    "a: !custom x\n",
    "a: 1\na: 2\n",  # a duplicate key: ruamel's error
    "%YAML 1.1\n---\na: yes\n",  # a directive changes the rules
    "a: 1\n---\nb: 2\n",  # two documents
    "<<: {a: 1}\n",
    "? [a, b]\n: c\n",
    "a: [unclosed\n",  # a parse error: ruamel says where
    "a: =\n",
]


@pytest.mark.parametrize("text", SAME)
def test_the_fast_path_reads_what_ruamel_reads(text: str) -> None:
    fast = load_plain_yaml(text)
    assert fast is not None, "expected the fast path to read it"
    slow = load_yaml(text, file="t.yml", error=ConfigError, roundtrip=True)
    assert tagged(fast[0]) == plain(slow)


@pytest.mark.parametrize("text", UNSURE)
def test_the_fast_path_leaves_what_it_is_unsure_of_to_ruamel(text: str) -> None:
    assert load_plain_yaml(text) is None


def test_deep_nesting_is_left_to_ruamel() -> None:
    assert load_plain_yaml("a: " + "[" * 150 + "]" * 150 + "\n") is None
    assert load_plain_yaml("a: " + "[" * 50 + "]" * 50 + "\n") is not None


def write_config(root: Path, text: str) -> None:
    (root / "models" / "a").mkdir(parents=True)
    (root / "modelcards.yml").write_text(text)


def test_a_config_reads_the_same_fast_and_round_trip(tmp_path: Path) -> None:
    write_config(
        tmp_path,
        "models:\n  - path: models/a\n    name: a\n    card: {license: mit, tags: [x, y]}\n"
        "site: {enabled: false}\npolicy: {fail_on: high}\n",
    )
    fast = find_config(tmp_path, fast=True)
    slow = find_config(tmp_path)
    assert fast is not None and slow is not None
    assert tagged(fast[0]) == plain(slow[0])
    config = load_config(tmp_path)
    assert [m.path for m in config.models] == ["models/a"]
    assert dict(config.models[0].card) == {"license": "mit", "tags": ["x", "y"]}


def test_a_mistake_found_on_the_fast_path_still_names_its_line(tmp_path: Path) -> None:
    write_config(tmp_path, "models:\n  - path: models/a\n    bsae: x\n")
    assert load_plain_yaml((tmp_path / "modelcards.yml").read_text()) is not None
    with pytest.raises(ConfigError) as raised:
        load_config(tmp_path)
    assert "modelcards.yml:3" in str(raised.value)
    assert "did you mean 'base'" in str(raised.value)


CACHE_PROBE = """
import sys
from pathlib import Path
from modelcards.project.config import load_config
config = load_config(Path.cwd())
print([m.path for m in config.models], "yaml" in sys.modules)
"""


def loaded_config(root: Path) -> tuple[str, str]:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", CACHE_PROBE], cwd=root, capture_output=True, text=True, check=True
    )
    models, yaml_loaded = done.stdout.rsplit(" ", 1)
    return models, yaml_loaded.strip()


def test_a_config_read_again_comes_from_the_cache_without_pyyaml(tmp_path: Path) -> None:
    """The second command reading the same text imports no YAML library; an edit reads anew."""
    from modelcards.safeio.yamlcache import entry_file

    write_config(tmp_path, "models:\n  - path: models/a\n")
    assert loaded_config(tmp_path) == ("['models/a']", "True")  # parsed, then kept
    assert entry_file(tmp_path / "modelcards.yml").is_file()
    assert loaded_config(tmp_path) == ("['models/a']", "False")
    (tmp_path / "models" / "b").mkdir()
    (tmp_path / "modelcards.yml").write_text("models:\n  - path: models/b\n")
    assert loaded_config(tmp_path) == ("['models/b']", "True")


def test_the_cache_keeps_only_what_reads_back_exactly(tmp_path: Path) -> None:
    from modelcards.safeio.yamlcache import cached_plain_yaml, entry_file

    config = tmp_path / "modelcards.yml"
    entry = entry_file(config)
    text = "a: {1: one, null: none}\nb: [true, 0, x]\n"  # int and null keys: JSON has neither
    assert cached_plain_yaml(text, config) == (
        {"a": {1: "one", None: "none"}, "b": [True, 0, "x"]},
    )
    assert not entry.exists()
    assert cached_plain_yaml("a: 1.5\n", config) is None  # ruamel's to read, as before
    assert cached_plain_yaml("a: [true, 0]\n", config) == ({"a": [True, 0]},)
    assert entry.is_file()
    for damaged in ("{", '{"format": "other"}', "[]", '{"a": 1, "a": 2}'):
        entry.write_text(damaged)
        assert cached_plain_yaml("a: [true, 0]\n", config) == ({"a": [True, 0]},)
    kept = entry.read_text()
    entry.write_text(kept.replace('"data": {"a": [true, 0]}', '"data": {"a": "forged"}'))
    assert cached_plain_yaml("a: [false]\n", config) == ({"a": [False]},)  # another text
    entry.unlink()
    os.mkfifo(entry)  # never waited on
    assert cached_plain_yaml("a: [true, 0]\n", config) == ({"a": [True, 0]},)
