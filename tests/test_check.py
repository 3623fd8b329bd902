"""`modelcards check`, the pull-request gate, on real git repositories."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from modelfiles import git, run_modelcards

modelcards = run_modelcards


def built_and_committed(repo: Path) -> Path:
    assert modelcards("build", "-q", cwd=repo).returncode == 0
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "docs: model cards")
    return repo


def edit_json(path: Path, **changes: object) -> None:
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data, indent=2))


def test_no_cards_yet_fails_then_build_passes(repo: Path) -> None:
    first = modelcards("check", cwd=repo)
    assert first.returncode == 1
    assert "chat-lora: models/chat-lora/README.md: no card yet" in first.stdout
    assert (
        "chat-tuned: models/chat-tuned/README.md: the card has no modelcards fingerprint"
        in first.stdout
    )
    built_and_committed(repo)
    second = modelcards("check", cwd=repo)
    assert second.returncode == 0, second.stdout
    assert second.stdout.startswith("ok: 2 models checked")


def test_changed_model_without_card_fails_the_pull_request(repo: Path) -> None:
    built_and_committed(repo)
    edit_json(repo / "models/chat-tuned/config.json", rope_theta=500000.0)
    git(repo, "commit", "-qam", "feat: raise rope_theta")
    result = modelcards("check", "--base-ref", "HEAD~1", cwd=repo)
    assert result.returncode == 1
    assert (
        "chat-tuned: models/chat-tuned/config.json: model files changed in HEAD~1...HEAD "
        "(models/chat-tuned/config.json) but its card did not" in result.stdout
    )
    assert "stale card: config.json changed since the card was built" in result.stdout
    # what changed in substance comes first, then that the card is stale
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "chat-tuned: models/chat-tuned/config.json: changed: RoPE base frequency 10000 → 500000"
    )
    assert lines.index(next(x for x in lines if "stale card" in x)) > 0
    assert "chat-lora" not in result.stdout
    # the author runs build and commits: the gate passes, with the change in CHANGES.md
    built_and_committed(repo)
    after = modelcards("check", "--base-ref", "HEAD~2", cwd=repo)
    assert after.returncode == 0, after.stdout
    assert "raise rope_theta" in (repo / "models/chat-tuned/CHANGES.md").read_text()
    assert (
        "RoPE base frequency 10000 → 500000" in (repo / "models/chat-tuned/README.md").read_text()
    )


def test_committing_build_output_never_makes_a_card_stale(repo: Path) -> None:
    built_and_committed(repo)
    for _ in range(2):
        git(repo, "commit", "-q", "--allow-empty", "-m", "chore: unrelated")
        assert modelcards("check", cwd=repo).returncode == 0


def test_hand_edit_of_generated_text_is_caught_and_diffed(repo: Path) -> None:
    built_and_committed(repo)
    card = repo / "models/chat-lora/README.md"
    card.write_text(
        card.read_text().replace("| Relation to base | adapter |", "| Relation to base | none |")
    )
    result = modelcards("check", "--diff", cwd=repo)
    assert result.returncode == 1
    assert "chat-lora: models/chat-lora/README.md: generated parts" in result.stdout
    assert "-| Relation to base | none |" in result.stdout
    assert "+| Relation to base | adapter |" in result.stdout


def test_a_hand_edited_or_missing_eu_document_is_caught(repo: Path) -> None:
    """MODEL-DOCUMENTATION.md and TRAINING-CONTENT.md are written from card.json alone: one
    that says something else (a status changed by hand) or is gone fails the gate."""
    built_and_committed(repo)
    form = repo / "models/chat-tuned/MODEL-DOCUMENTATION.md"
    form.write_text(form.read_text().replace("**to be provided**", "filled from the files", 1))
    result = modelcards("check", cwd=repo)
    assert result.returncode == 1
    assert (
        "chat-tuned: models/chat-tuned/MODEL-DOCUMENTATION.md: MODEL-DOCUMENTATION.md is not what "
        "card.json says" in result.stdout
    ), result.stdout
    git(repo, "checkout", "--", "models/chat-tuned/MODEL-DOCUMENTATION.md")
    (repo / "models/chat-lora/TRAINING-CONTENT.md").unlink()
    result = modelcards("check", cwd=repo)
    assert result.returncode == 1
    assert "models/chat-lora/TRAINING-CONTENT.md: TRAINING-CONTENT.md is not" in result.stdout
    assert "chat-tuned" not in result.stdout


def test_human_prose_is_not_a_reason_but_the_site_follows_it(repo: Path) -> None:
    built_and_committed(repo)
    card = repo / "models/chat-lora/README.md"
    card.write_text(
        card.read_text().replace(
            "### Direct Use\n\n[More Information Needed]", "### Direct Use\n\nSupport drafts."
        )
    )
    result = modelcards("check", "--format", "json", cwd=repo)
    data = json.loads(result.stdout)
    assert [p["file"] for p in data["problems"]] == ["modelcards-site/.modelcards-site"]
    assert "site is older than the cards" in data["problems"][0]["reason"]
    shutil.rmtree(repo / "modelcards-site")  # a project that does not keep the site
    assert modelcards("check", cwd=repo).returncode == 0


def test_github_format_annotates(repo: Path) -> None:
    built_and_committed(repo)
    edit_json(repo / "models/chat-lora/adapter_config.json", r=16)
    result = modelcards("check", "--format", "github", cwd=repo)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    # the changed fact, on the model file that changed, then the stale card
    assert lines[0] == (
        "::warning file=models/chat-lora/adapter_config.json,"
        "title=modelcards%3A changed against the base::chat-lora: changed: r set to 16"
    )
    assert any(
        x.startswith(
            "::error file=models/chat-lora/README.md,line=1,title=modelcards%3A stale card::"
            "chat-lora: stale card"
        )
        for x in lines
    )


def test_unknown_base_ref_is_a_usage_error(repo: Path) -> None:
    result = modelcards("check", "--base-ref", "no-such-ref", cwd=repo)
    assert result.returncode == 2
    assert "unknown revision 'no-such-ref'" in result.stderr


def test_base_from_a_git_revision_is_pinned_in_provenance(repo: Path) -> None:
    """A base imported in one commit and read back from git objects, not the work tree."""
    import_commit = git(repo, "rev-list", "--max-parents=0", "HEAD").strip()
    (repo / "modelcards.yml").write_text(
        "models:\n"
        "  - path: models/chat-tuned\n"
        f"    base: {{path: 'git:{import_commit}:base-model', id: acme/tiny-llama-base}}\n"
    )
    shutil.rmtree(repo / "base-model")  # only git has it now
    result = modelcards("build", "--no-site", cwd=repo)
    assert result.returncode == 0, result.stderr
    card = (repo / "models/chat-tuned/README.md").read_text()
    assert f"files read from git `base-model` at `{import_commit}`" in card
    data = json.loads((repo / "models/chat-tuned/card.json").read_text())
    assert data["provenance"]["base"]["revision"] == import_commit
    assert "## chat-tuned/v1.0 (2024-02-01)" in (repo / "models/chat-tuned/CHANGES.md").read_text()


def test_a_site_template_change_leaves_cards_current_but_not_the_site(repo: Path) -> None:
    built_and_committed(repo)
    (repo / "my-templates/site").mkdir(parents=True)
    (repo / "my-templates/site/risks.md.j2").write_text("# {{ model.name }}: risks\n")
    config = repo / "modelcards.yml"
    config.write_text(config.read_text() + "templates: my-templates\n")
    result = modelcards("check", "--format", "json", cwd=repo)
    problems = json.loads(result.stdout)["problems"]
    assert [p["file"] for p in problems] == ["modelcards-site/.modelcards-site"]
