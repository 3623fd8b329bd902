"""Short commands start fast: `--help`, a header-only diff of two folders, `rules`,
`--version` and a `check` that finds every card current load none of the heavy libraries the
other commands need (numpy for --deep and some scanners, GitPython for a revision's files,
Jinja2 for rendering, huggingface_hub for the Hub, urllib.request, model_signing for sign and
verify); `check` also leaves the renderer, the scanners and the rule modules unloaded."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from modelcards.project.config import load_config
from modelfiles import git, llama_config, llama_tensors, make_model

HEAVY = ("numpy", "git", "jinja2", "huggingface_hub", "urllib.request", "model_signing")

PROBE = """
import json, sys
from modelcards.cli import main
sys.argv[0] = "modelcards"
code = 0
try:
    main()
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "loaded": sorted(sys.modules)}), file=sys.stderr)
"""
# what `check` of current cards needs none of: it renders nothing, scans nothing, evaluates
# no rule (a waiver would load the rule modules, to know the rule it names)
RENDER_AND_ASSESS = (
    "modelcards.render.context",
    "modelcards.render.environment",
    "modelcards.assess.assessment",
    "modelcards.assess.scan",
    "modelcards.assess.diff_rules",
    "modelcards.assess.claim_rules",
    "modelcards.compare.deep",
    "modelcards.inspect.pickled_args",
    "modelcards.inspect.facts",  # check reads inspect's constants, never a model's facts
    "modelcards.inspect.frameworks",
    "modelcards.assess.governance",  # the config checks governance items by their names alone
    "modelcards.assess.rules",  # and loads the catalogue only for a waiver
)
# nor, once the config's text has been read before (`safeio/yamlcache.py`), a YAML library;
# nor tempfile and shutil, which only a write of the hash cache needs
READ_BEFORE = ("yaml", "ruamel.yaml", "modelcards.safeio.yamlfast", "tempfile", "shutil")


def loaded_by(*args: str, cwd: Path, watch: tuple[str, ...] = HEAVY) -> tuple[int, list[str], str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )
    report = json.loads(done.stderr.strip().splitlines()[-1])
    return report["code"], [m for m in watch if m in report["loaded"]], done.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("diff", "base", "tuned"),
        ("diff", "base", "tuned", "--format", "json"),
        ("rules",),
        ("--version",),
    ],
)
def test_a_short_command_loads_no_heavy_library(tmp_path: Path, args: tuple[str, ...]) -> None:
    make_model(tmp_path / "base", config=llama_config(), tensors=llama_tensors())
    make_model(
        tmp_path / "tuned",
        config=llama_config(max_position_embeddings=4096),
        tensors=llama_tensors(seed=1),
    )
    code, loaded, _ = loaded_by(*args, cwd=tmp_path)
    assert code in (0, None), code
    assert loaded == [], f"`modelcards {' '.join(args)}` imported {loaded}"


def test_help_loads_no_heavy_library(tmp_path: Path) -> None:
    code, loaded, out = loaded_by("--help", cwd=tmp_path)
    assert code in (0, None) and "Commands:" in out
    assert loaded == [], f"`modelcards --help` imported {loaded}"


def no_html(config: Any, **_: Any) -> Any:
    """`build_site` left out: the HTML is not what check reads."""
    from modelcards.publish.mkdocs_build import SiteBuild

    return SiteBuild(config.root / config.site.output, (), 0, None)


@pytest.fixture(scope="module")
def current_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One model and its base, built (site sources and the record too, mkdocs left out) and
    committed: every card is current."""
    from modelcards.project.build import build_project
    from modelcards.publish import mkdocs_build
    from modelcards.safeio.hashcache import HashCache

    root = tmp_path_factory.mktemp("project")
    make_model(root / "base", config=llama_config(), tensors=llama_tensors())
    make_model(
        root / "tuned",
        config=llama_config(max_position_embeddings=4096),
        tensors=llama_tensors(seed=1),
    )
    (root / "modelcards.yml").write_text("models:\n  - path: tuned\n    base: base\n")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "feat: models")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mkdocs_build, "build_site", no_html)
        build_project(load_config(root), cache=HashCache(), jobs=1)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "docs: card")
    return root


# what `check` of a model whose key is the recorded one needs none of either: the site's page
# writers, the EU documents' Markdown (the slow path compares them), importlib.metadata
RECORD_PATH = (
    "modelcards.publish.site.pages",
    "modelcards.publish.site.reuse",
    "modelcards.render.eu_markdown",
    "importlib.metadata",
)


def test_check_from_the_record_loads_no_heavy_library(current_project: Path) -> None:
    watch = HEAVY + RENDER_AND_ASSESS + RECORD_PATH
    load_config(current_project)  # as a command before this one did: the config is kept
    code, loaded, out = loaded_by("check", cwd=current_project, watch=watch + READ_BEFORE)
    assert code in (0, None) and out.startswith("ok: 1 model checked"), out
    assert loaded == [], f"`modelcards check` imported {loaded}"


def test_check_of_current_cards_loads_no_heavy_library(
    current_project: Path, tmp_path: Path
) -> None:
    """Without the record every model takes the slow path: it reads and fingerprints."""
    root = tmp_path / "project"
    shutil.copytree(current_project, root, symlinks=True)
    (root / "modelcards-site" / ".modelcards-record.json").unlink()
    load_config(root)
    watch = HEAVY + RENDER_AND_ASSESS + READ_BEFORE[:3]  # it hashes: the hash cache is written
    code, loaded, out = loaded_by("check", cwd=root, watch=watch)
    assert code in (0, None) and out.startswith("ok: 1 model checked"), out
    assert loaded == [], f"`modelcards check` imported {loaded}"


WAIVER_PROBE = """
import sys
from pathlib import Path
from modelcards.project.config import parse_config
from modelcards.safeio.errors import ConfigError
before = "modelcards.assess.diff_rules" in sys.modules
def waiver(rule):
    raw = {"models": [{"path": "tuned", "base": "base"}],
           "waivers": [{"rule": rule, "reason": "reviewed", "owner": "ml-team"}]}
    try:
        return parse_config(raw, root=Path.cwd(), file="modelcards.yml").waivers[0].rule
    except ConfigError as exc:
        return str(exc)
print(before, waiver("MC601"), waiver("MC699"), sep="\\n")
"""


def test_a_waiver_of_a_rule_in_its_own_module_is_known(current_project: Path) -> None:
    """The diff rules (MC6xx) live in their own module, which the config does not import: a
    waiver naming one is still valid, since reading the catalogue loads the rule modules."""
    done = subprocess.run(
        [sys.executable, "-c", WAIVER_PROBE], cwd=current_project, capture_output=True,
        text=True, timeout=60, check=True,
    )  # fmt: skip
    before, known, unknown = done.stdout.splitlines()
    assert (before, known) == ("False", "MC601")
    assert "unknown rule 'MC699'" in unknown


def test_every_rule_module_is_in_the_catalogue() -> None:
    """A module that adds rules to the catalogue is listed where the catalogue loads them."""
    from modelcards.assess import rules

    package = Path(rules.__file__).parent
    adding = sorted(
        f"modelcards.assess.{p.stem}" for p in package.glob("*.py") if "RULES.add(" in p.read_text()
    )
    assert adding == sorted(rules.RULE_MODULES)
