"""The provider's statements in `compliance:` of modelcards.yml (checked up front, the model's
own over the project's) and `policy.require_provider_details` in `check`, on a real git repo."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from modelcards import api
from modelcards.cli import cli
from modelcards.project.check import check_project, format_json, format_text
from modelcards.project.config import load_config
from modelcards.project.state import card_subject
from modelcards.render.provider_details import PROVIDER_FIELDS, ProviderValue
from modelcards.safeio.errors import ConfigError
from modelcards.safeio.hashcache import HashCache
from modelfiles import git, run_modelcards

MODELS = "models:\n  - path: m\n"
FULL = """\
compliance:
  provider_name: Acme AI GmbH
  provider_contact: ai-office@acme.example
  market_date: 2026-03-01
  acceptable_use_policy: docs/aup.md
  tdm_opt_out_policy: robots.txt and TDMRep reservations honoured by the crawler
"""


def write_project(root: Path, text: str) -> Path:
    (root / "m").mkdir(parents=True, exist_ok=True)
    (root / "docs").mkdir(exist_ok=True)
    (root / "docs" / "aup.md").write_text("# Acceptable use\n")
    (root / "modelcards.yml").write_text(text)
    return root


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (MODELS + "    compliance:\n      market_date: March 2026\n", 4,
         "models[0].compliance.market_date: expected a date as YYYY-MM-DD, found 'March 2026'"),
        (MODELS + "    compliance:\n      market_date: 2026-03-01T10:00:00\n", 4,
         "models[0].compliance.market_date: expected a date as YYYY-MM-DD"),
        ("compliance:\n  provider_name: ''\n" + MODELS, 2,
         "compliance.provider_name: expected a non-empty string"),
        ("compliance:\n  provider_contact: [a, b]\n" + MODELS, 2,
         "compliance.provider_contact: expected a non-empty string, found a list"),
        ("compliance:\n  acceptable_use_policy: http://acme.example/aup\n" + MODELS, 2,
         "a link must be an https:// URL, found 'http://acme.example/aup'"),
        ("compliance:\n  acceptable_use_policy: docs/missing.md\n" + MODELS, 2,
         "'docs/missing.md' is no https:// link and no file inside the project"),
        ("compliance:\n  acceptable_use_policy: ../outside.md\n" + MODELS, 2,
         "no file inside the project"),
        (MODELS + "    compliance:\n      provider_nmae: Acme\n", 4,
         "models[0].compliance.provider_nmae: unknown key (did you mean 'provider_name'? "
         "allowed: base_training_flop, provider_name, provider_contact, market_date, "
         "acceptable_use_policy, tdm_opt_out_policy)"),
        ("compliance:\n  homepage: x\n" + MODELS, 2,
         "compliance.homepage: unknown key (allowed: base_training_flop, provider_name"),
        ("policy:\n  require_provider_details: sometimes\n" + MODELS, 2,
         "policy.require_provider_details: expected one of never, above_threshold, always, "
         "found 'sometimes'"),
    ],
)  # fmt: skip
def test_config_errors_name_file_line_and_key(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    (tmp_path / "outside.md").write_text("not in the project\n")
    root = write_project(tmp_path / "project", text)
    with pytest.raises(ConfigError) as error:
        load_config(root)
    assert error.value.file == f"modelcards.yml:{line}"
    assert message in str(error.value)


def test_a_bad_value_is_one_line_and_exit_2(tmp_path: Path) -> None:
    root = write_project(tmp_path, MODELS + "    compliance:\n      market_date: soon\n")
    result = run_modelcards("check", cwd=root)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "modelcards: error: modelcards.yml:4: models[0].compliance.market_date: expected a date as "
        "YYYY-MM-DD, found 'soon'"
    ]


def test_the_models_own_values_beat_the_project_defaults(tmp_path: Path) -> None:
    own = (
        "    compliance:\n      provider_contact: https://tuned.example/contact\n"
        "      market_date: '2026-04-15'\n"
        "      acceptable_use_policy: https://tuned.example/aup\n"
    )
    root = write_project(tmp_path, FULL + MODELS + own + "  - path: other\n")
    (root / "other").mkdir()
    config = load_config(root)
    mine = card_subject(config, config.models[0]).provider
    assert mine.missing() == ()
    assert list(mine.values) == list(PROVIDER_FIELDS)  # the documents' order, not the config's
    assert mine.values["provider_name"] == ProviderValue("Acme AI GmbH", "compliance.provider_name")
    assert mine.values["provider_contact"] == ProviderValue(
        "https://tuned.example/contact", "models[0].compliance.provider_contact"
    )
    assert mine.values["market_date"] == ProviderValue(
        "2026-04-15", "models[0].compliance.market_date"
    )
    other = card_subject(config, config.models[1]).provider
    assert other.values["market_date"] == ProviderValue("2026-03-01", "compliance.market_date")
    assert other.values["acceptable_use_policy"].value == "docs/aup.md"
    # nothing given: every field is missing, in order
    bare = load_config(write_project(tmp_path / "bare", MODELS))
    assert card_subject(bare, bare.models[0]).provider.missing() == PROVIDER_FIELDS


# ------------------------------------------------------------------ the policy, in a real repo

TUNED_FLOP = "    compliance:\n      base_training_flop: {flop: 3e12, source: a test figure}\n"


def set_config(repo: Path, top: str = "", tuned: str = "") -> None:
    """The example's config with the tuned model's original at 3e12 FLOP: its 1.5e12 FLOP of
    fine-tuning (the Trainer's total_flos) is above one third; the adapter's is unknown."""
    (repo / "modelcards.yml").write_text(
        top + "models:\n  - path: models/chat-tuned\n"
        "    base: {path: base-model, id: acme/tiny-llama-base}\n" + TUNED_FLOP + tuned +
        "  - path: models/chat-lora\n    base: {path: base-model, id: acme/tiny-llama-base}\n"
    )  # fmt: skip


def build_and_commit(repo: Path) -> None:
    assert not api.build(repo, site=False, jobs=1).failed
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "docs: model cards")


@pytest.fixture(scope="module")
def above(example_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example, built and committed with chat-tuned above the threshold."""
    repo = tmp_path_factory.mktemp("provider") / "repo"
    shutil.copytree(example_repo, repo, symlinks=True)
    set_config(repo)
    build_and_commit(repo)
    compute = json.loads((repo / "models/chat-tuned/card.json").read_text())["compute"]
    assert compute["verdict"] == "above the indicative threshold"
    assert compute["threshold_flop"] == pytest.approx(1e12)
    return repo


def problems_of(repo: Path) -> list[dict[str, object]]:
    report = check_project(load_config(repo), cache=HashCache())
    return [p for p in json.loads(format_json(report))["problems"] if p["kind"] == "policy"]


def test_above_threshold_fails_the_model_above_it_naming_fields_and_keys(above: Path) -> None:
    policy = "policy:\n  require_provider_details: above_threshold\n"
    set_config(above, policy)
    report = check_project(load_config(above), cache=HashCache())
    assert not report.ok
    text = format_text(report)
    assert (
        "chat-tuned: modelcards.yml: EU provider details missing: provider_name, "
        "provider_contact, market_date, acceptable_use_policy, tdm_opt_out_policy (its training "
        "compute is above the indicative threshold (1e+12 FLOP), and "
        "policy.require_provider_details is above_threshold); add compliance.provider_name, "
        "compliance.provider_contact, compliance.market_date, compliance.acceptable_use_policy, "
        "compliance.tdm_opt_out_policy to modelcards.yml (every model) or under "
        "models[0].compliance (this model)"
    ) in text
    assert "chat-lora" not in text  # its compute is not determined: not above
    # a project default gives some, the model gives the rest: only what is still missing
    set_config(above, policy + FULL.replace("  market_date: 2026-03-01\n", "")
               .replace("  acceptable_use_policy: docs/aup.md\n", ""),
               "      market_date: 2026-03-01\n")  # fmt: skip
    (reason,) = [p["reason"] for p in problems_of(above)]
    assert str(reason).startswith("EU provider details missing: acceptable_use_policy (")


def test_the_policy_passes_once_given_and_never_is_the_default(above: Path) -> None:
    set_config(above)  # no policy: nothing is required
    assert problems_of(above) == []
    set_config(above, "policy:\n  require_provider_details: above_threshold\n" + FULL)
    (above / "docs").mkdir(exist_ok=True)
    (above / "docs/aup.md").write_text("# Acceptable use\n")
    # the values are inputs of the documents: the cards are stale until built again, and the
    # policy itself is satisfied at once
    report = check_project(load_config(above), cache=HashCache())
    assert [p.kind for p in report.problems] == ["stale", "stale"]
    assert problems_of(above) == []


def test_always_fails_every_model_and_check_prints_json(above: Path) -> None:
    set_config(above, "policy:\n  require_provider_details: always\n"
               "compliance:\n  provider_name: Acme AI GmbH\n")  # fmt: skip
    result = CliRunner().invoke(cli, ["check", "-C", str(above), "--format", "json"])
    assert result.exit_code == 1, result.output
    policy = [p for p in json.loads(result.stdout)["problems"] if p["kind"] == "policy"]
    assert [(p["model"], p["file"]) for p in policy] == [
        ("chat-tuned", "modelcards.yml"), ("chat-lora", "modelcards.yml")
    ]  # fmt: skip
    assert policy[1]["reason"] == (
        "EU provider details missing: provider_contact, market_date, acceptable_use_policy, "
        "tdm_opt_out_policy (policy.require_provider_details is always); add "
        "compliance.provider_contact, compliance.market_date, compliance.acceptable_use_policy, "
        "compliance.tdm_opt_out_policy to modelcards.yml (every model) or under "
        "models[1].compliance (this model)"
    )


def test_a_lineage_above_the_threshold_counts_and_an_undetermined_one_does_not(
    tmp_path: Path,
) -> None:
    from modelcards.project.provider_policy import provider_problem

    root = write_project(
        tmp_path, "policy:\n  require_provider_details: above_threshold\n" + MODELS
    )
    config = load_config(root)

    def card(verdict: str, lineage: str | None) -> str:
        compute = {"verdict": verdict, "threshold_flop": 3.3e22,
                   "lineage": {"verdict": lineage} if lineage else None}  # fmt: skip
        return json.dumps({"compute": compute, "model": {}}, indent=2, sort_keys=True) + "\n"

    below, above = "below the indicative threshold", "above the indicative threshold"
    summed = provider_problem(config, config.models[0], card(below, above))
    assert summed is not None and "its lineage's training compute, summed, is above" in summed
    assert "(3.3e+22 FLOP)" in summed
    assert provider_problem(config, config.models[0], card(below, below)) is None
    undetermined = "not determined: the range reaches across the threshold"
    assert provider_problem(config, config.models[0], card(undetermined, None)) is None
    assert provider_problem(config, config.models[0], None) is None  # no card.json: no verdict
