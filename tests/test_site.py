"""The audit site's pages: home table, lineage, risks, provenance, releases, training, compliance."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from modelcards.cli import cli
from modelcards.project.build import render_project
from modelcards.project.config import load_config
from modelcards.publish.charts import line_chart, nice_ticks, training_charts
from modelcards.publish.compliance import compliance
from modelcards.publish.lineage import lineage_context
from modelcards.publish.mkdocs_build import build_site
from modelcards.publish.site import site_pages, write_site
from modelcards.render import RenderedModel, make_environment

RISKS = [
    {"rule": "MC201", "severity": "medium", "file": "tokenizer_config.json",
     "message": "chat template changed", "evidence": {"key": "chat_template"},
     "recommendation": "re-run the safety evaluation"},
    {"rule": "MC101", "severity": "high", "file": "config.json",
     "message": "remote code <script>alert(1)</script>", "evidence": "auto_map",
     "recommendation": "review modeling_x.py"},
    {"rule": "MC900", "severity": "low", "file": "README.md", "message": "no licence stated",
     "evidence": None, "recommendation": "state one",
     "waived": True, "waiver_expired": False,
     "waiver": {"rule": "MC900", "reason": "internal only", "owner": "ml-team", "expires": None}},
]  # fmt: skip


def with_risks(model: RenderedModel, risks: list[dict[str, Any]]) -> RenderedModel:
    return dataclasses.replace(model, context={**model.context, "risks": risks})


@pytest.fixture
def pages(repo: Path) -> dict[str, str]:
    config = load_config(repo)
    models = render_project(config)
    models = [with_risks(models[0], RISKS), *models[1:]]
    return site_pages(config, models, make_environment(config.templates))


def test_home_lists_models_with_badges_releases_and_lineage(pages: dict[str, str]) -> None:
    home = pages["modelcards-site/docs/index.md"]
    assert "[chat-tuned](models/chat-tuned/index.md)" in home
    assert "[acme/tiny-llama-base](https://huggingface.co/acme/tiny-llama-base)" in home
    assert "[chat-tuned/v1.0](models/chat-tuned/releases/chat-tuned-v1-0.md)" in home
    assert '<span class="mc-badge mc-high">1 high</span>' in home
    assert '<span class="mc-badge mc-medium">1 medium</span>' in home
    assert '<span class="mc-badge mc-waived">1 waived</span>' in home
    # chat-lora keeps the findings its own files and diff gave it (medium ones, no high)
    lora_row = next(line for line in home.splitlines() if line.startswith("| [chat-lora]"))
    assert "mc-medium" in lora_row and "mc-high" not in lora_row
    assert ">2024-02-01</span> |" in home and ">2024-02-15</span> |" in home
    assert '<div class="mc-graph"><svg class="mc-lineage"' in home  # drawn now: nothing to fetch
    assert ">adapter</text>" in home and ">acme/tiny-llama-base</text>" in home
    assert (
        'class="mc-node mc-upstream"' in home and '<a href="models/chat-lora/index.html">' in home
    )
    assert "```mermaid" not in home


def test_model_pages_exist_and_stay_out_of_the_nav(pages: dict[str, str]) -> None:
    folder = "modelcards-site/docs/models/chat-tuned"
    model_pages = sorted(p for p in pages if p.startswith(folder))
    assert model_pages == [
        f"{folder}/{page}"
        for page in (
            "card.json",
            "index.md",
            "learning-rate.svg",
            "loss.svg",
            "model-documentation.md",
            "releases/chat-tuned-v1-0.md",
            "report.md",
            "training-content.md",
        )  # fmt: skip
    ]
    # the EU documents: linked from the model's page, and kept out of search like the report
    card_page = pages[f"{folder}/index.md"]
    assert "[Model Documentation Form](model-documentation.md)" in card_page
    assert "[Training content summary](training-content.md)" in card_page
    assert 'search: {"exclude": true}' in pages[f"{folder}/model-documentation.md"]
    assert "modelcards-site/docs/models/chat-lora/loss.svg" not in pages  # no training record
    report = pages[f"{folder}/report.md"]
    sections = [line for line in report.splitlines() if line.startswith("## ")]
    assert sections == [
        "## Changes from the base model {#changes}", "## Known risks {#risks}",
        "## Training {#training}", "## Provenance {#provenance}",
        "## Compliance {#compliance}", "## Releases {#releases}",
    ]  # fmt: skip
    assert report.startswith('---\ntitle: "chat-tuned: audit report"\nhide: ["navigation"]\n')
    lora = pages["modelcards-site/docs/models/chat-lora/report.md"]
    # no training record, but the adapter's recipe (adapter_config.json) is shown
    assert "No training record" in lora and "### Training recipe" in lora
    assert "| LoRA rank (r) | 8 | `adapter_config.json:r` |" in lora
    mkdocs = pages["modelcards-site/mkdocs.yml"]
    assert "not_in_nav:" in mkdocs and "/models/" in mkdocs
    assert "use_directory_urls: false" in mkdocs and "mermaid" not in mkdocs
    assert (
        "- assets/modelcards.css" in mkdocs
        and "@media print" in pages["modelcards-site/docs/assets/modelcards.css"]
        and "- assets/modelcards.js" in mkdocs
        and ".mc-sortable table" in pages["modelcards-site/docs/assets/modelcards.js"]
    )


def test_risk_register_orders_escapes_and_shows_waivers(pages: dict[str, str]) -> None:
    report = pages["modelcards-site/docs/models/chat-tuned/report.md"]
    risks = report.split("{#risks}")[1].split("\n## ")[0]
    rows = [line for line in risks.splitlines() if line.startswith("| <span")]
    assert [r.split("mc-badge mc-")[1].split('"')[0] for r in rows] == ["high", "medium", "low"]
    assert "<script>" not in risks and "&lt;script&gt;" in risks
    assert "waived: internal only (owner ml-team)" in risks
    assert "re-run the safety evaluation" in risks and "| open |" in risks


def test_diff_page_highlights_chat_template_and_lists_new_tokens(pages: dict[str, str]) -> None:
    report = pages["modelcards-site/docs/models/chat-tuned/report.md"]
    diff = report.split("{#changes}")[1].split("\n## ")[0]
    assert '!!! warning "The chat template changed' in diff
    assert "    ```diff\n    --- base/tokenizer_config.json" in diff
    tokens = diff.split("### Tokens added to the vocabulary")[1].split("##")[0]
    assert "320: &#60;&#124;im&#95;start&#124;&#62;" in tokens and "321:" in tokens
    assert "| [Tokenizer](#change-tokenizer) | 4 |" in diff
    assert "### Tokenizer {#change-tokenizer}\n\n| Key | Before | After | Meaning |" in diff
    assert diff.index("### Architecture") < diff.index("insignificant differences")
    assert "| `lm_head.weight` | reshaped | `F32[320, 64]` | `F32[322, 64]` |" in diff


def test_provenance_release_training_pages(pages: dict[str, str]) -> None:
    folder = "modelcards-site/docs/models/chat-tuned"
    report = pages[f"{folder}/report.md"]
    prov = report.split("{#provenance}")[1].split("\n## ")[0]
    assert "10 files, 551.0 KB in total." in prov
    assert "| `model.safetensors` | 530,784 | `0b17f519" in prov
    assert "### Base model files" in prov and "not pinned" in prov
    release = pages[f"{folder}/releases/chat-tuned-v1-0.md"]
    assert "fine-tune chat-tuned on support chats" in release
    assert "a card per release is not generated yet" in release
    training = report.split("{#training}")[1].split("\n## ")[0]
    assert "![Training and evaluation loss by step](loss.svg)" in training
    assert "| eval\\_loss | 1.34 |" in training or "eval_loss" in training
    card = json.loads(pages[f"{folder}/card.json"])
    history = card["training"]["history"]
    assert len(history) == card["training"]["log_points"] == 34
    assert history[0] == {"step": 10, "epoch": 0.1, "loss": history[0]["loss"],
                          "learning_rate": 1.9333333333333333e-05, "eval": {}}  # fmt: skip
    assert {"eval_loss"} <= set(next(p["eval"] for p in history if p["eval"]))
    assert card["training"]["total_flos"] == {
        "value": 1523712000000.0,
        "source": "all_results.json:total_flos",
    }
    loss = pages[f"{folder}/loss.svg"]
    assert loss.startswith("<svg") and "eval loss" in loss and loss.count("<polyline") == 2


def test_card_page_links_out_and_keeps_prose_inert(repo: Path) -> None:
    readme = repo / "models/chat-tuned/README.md"
    CliRunner().invoke(cli, ["build", "-C", str(repo), "--no-site"])
    readme.write_text(readme.read_text() + "\n<img src=x onerror=alert(1)>\n")
    config = load_config(repo)
    models = render_project(config)
    files = site_pages(config, models, make_environment(config.templates))
    card = files["modelcards-site/docs/models/chat-tuned/index.md"]
    assert "&lt;img src=x onerror=alert(1)>" in card and "<img" not in card
    assert (
        "See [provenance](report.md#provenance)" in card and "| File | Size | SHA-256 |" not in card
    )
    assert "[Known risks](report.md#risks)" in card  # the sub-navigation


def test_compliance_page_marks_evidence_and_estimates_compute(pages: dict[str, str]) -> None:
    report = pages["modelcards-site/docs/models/chat-tuned/report.md"]
    page = report.split("{#compliance}")[1].split("\n## ")[0]
    assert "Documentation support, not legal advice" in page
    assert '| Licence | <span class="mc-evidenced">evidenced</span> | `apache-2.0` from' in page
    assert (
        '| Energy consumption (known or estimated) | <span class="mc-missing">missing</span> '
        "| **To do:** add \\`co2_eq_emissions\\`" in page
    )
    # the example's Trainer recorded total_flos: that is the figure, with its method and source
    assert "**1.52e+12 FLOP**, by the Trainer’s own count (total_flos)." in page
    assert (
        "| total_flos | 1.524e+12 | `all_results.json:total_flos` |" in page
        and "NIST AI RMF" in page
    )
    assert "This fine-tune is **below the indicative threshold**" in page
    assert "| One third of the original model's training compute | 3.33e+22 FLOP |" in page
    assert '- <span class="mc-partial">partial</span>: GOVERN 1.4, GOVERN 6.1, MAP 1.1' in page
    mapping = pages["modelcards-site/docs/compliance.md"]
    assert "Annex XI 1(f); Annex XII 1(h)" in mapping  # the references live there, once


def test_compliance_reads_the_compute_of_card_json() -> None:
    compute = {"method": "full", "flop": 4.2e16, "method_text": "6·N·D", "inputs": []}
    assert compliance({"model": {"name": "x"}, "compute": compute}, "")["compute"] == compute
    items = compliance({"model": {"name": "x"}}, "")["documentation"]
    assert {i["status"] for i in items} == {"missing"}


def test_lineage_labels_cannot_break_out() -> None:
    evil = 'evil"><img src=x onerror=alert(1)>'
    models = [
        {"slug": "a", "context": {"model": {"name": 'a"b', "path": "m/a", "relation": "finetune"},
                                  "base": {"id": "org/base", "path": None}}},
        {"slug": "b", "context": {"model": {"name": "b", "path": "m/b", "relation": "quantized"},
                                  "base": {"id": None, "path": "m/a"}}},
    ]  # fmt: skip
    models.append({"slug": "c", "context": {
        "model": {"name": evil, "path": "m/c", "relation": "merge"},
        "base": {"id": None, "path": "m/b"}}})  # fmt: skip
    lineage = lineage_context(models)
    assert lineage["edges"] == 3 and len(lineage["diagrams"]) == 1
    svg = lineage["whole"]
    assert "<img" not in svg and "&lt;img src=x onerror=alert(1)&gt;" in svg
    assert "a&quot;b" in svg and '"a"b' not in svg
    import xml.dom.minidom

    xml.dom.minidom.parseString(svg)  # well-formed: no label closed an attribute or a tag
    # generations: org/base, then a, then b (made from a, itself a model of the project), then c
    x = {label: svg.split(f">{label}</text>")[0].rsplit('<text x="', 1)[1].split('"')[0]
         for label in ("org/base", "a&quot;b", "b")}  # fmt: skip
    assert float(x["org/base"]) < float(x["a&quot;b"]) < float(x["b"])
    assert ">quantized</text>" in svg and '<a href="models/b/index.html">' in svg


def test_charts_are_deterministic_svg() -> None:
    history = [{"step": s, "loss": 2.0 / s, "learning_rate": 1e-4 * (1 - s / 100), "eval": {}}
               for s in range(1, 101)]  # fmt: skip
    first, second = training_charts(history), training_charts(history)
    assert first == second and set(first) == {"loss.svg", "learning-rate.svg"}
    assert "1e-4" in first["learning-rate.svg"]
    svg = line_chart("<b>title</b>", "x", "y", [])
    assert "&lt;b&gt;title&lt;/b&gt;" in svg and "no logged values" in svg
    assert nice_ticks(0, 300) == [0, 100, 200, 300]
    assert nice_ticks(1.3, 2.9)[0] <= 1.3 and nice_ticks(1.3, 2.9)[-1] >= 2.9


def test_site_builds_strictly_with_every_page(repo: Path) -> None:
    config = load_config(repo)
    models = render_project(config)
    models = [with_risks(models[0], RISKS), *models[1:]]
    write_site(config, site_pages(config, models, make_environment(config.templates)))
    out = build_site(config).output
    # page.html, not page/index.html: the site works from file://, not only from a server
    for page in ("index.html", "lineage.html", "models/chat-tuned/report.html",
                 "models/chat-tuned/releases/chat-tuned-v1-0.html",
                 "compliance.html", "models/chat-tuned/loss.svg"):  # fmt: skip
        assert (out / page).is_file(), page
    risks = (out / "models/chat-tuned/report.html").read_text()
    for anchor in ("changes", "risks", "training", "provenance", "compliance", "releases"):
        assert f'<h2 id="{anchor}">' in risks, anchor
    assert "<script>alert(1)" not in risks and "&lt;script&gt;alert(1)" in risks
    home = (out / "index.html").read_text()
    assert '<svg class="mc-lineage"' in home and "mermaid" not in home
    nav = home.split('class="md-nav md-nav--primary"')[1].split("</nav>")[0]
    assert "chat-tuned" not in nav  # model pages are linked from the table, not the nav


def test_tokens_seen_come_from_trainer_state() -> None:
    from modelcards.inspect.training import read_training

    state = {"global_step": 10, "num_input_tokens_seen": 81920,
             "log_history": [{"step": 10, "loss": 1.5, "learning_rate": 1e-5}]}  # fmt: skip
    record = read_training({"trainer_state.json"}, lambda name: state)
    assert record is not None and record.tokens_seen == 81920
    from types import SimpleNamespace

    from modelcards.inspect.recipe import Recipe
    from modelcards.render.context import _training

    training = _training(SimpleNamespace(training=record, recipe=Recipe()))  # type: ignore[arg-type]
    assert training is not None
    assert training["tokens"] == {
        "value": 81920,
        "source": "trainer_state.json:num_input_tokens_seen",
    }
    assert training["history"] == [
        {"step": 10, "epoch": None, "loss": 1.5, "learning_rate": 1e-5, "eval": {}}
    ]
    assert read_training({"trainer_state.json"}, lambda n: {**state, "num_input_tokens_seen": 0})
    assert (
        read_training(
            {"trainer_state.json"}, lambda n: {**state, "num_input_tokens_seen": 0}
        ).tokens_seen  # type: ignore[union-attr]
        is None
    )


def test_slugs_never_collide() -> None:
    from modelcards.publish.site import unique_slugs

    assert unique_slugs(["A b", "a-b", "a-b-2", "a b"]) == ["a-b", "a-b-2", "a-b-2-2", "a-b-3"]
    assert unique_slugs(["index", "v1"], reserved=frozenset({"index"})) == ["index-2", "v1"]


def test_awkward_release_tag_keeps_tables_and_pages_whole(repo: Path) -> None:
    from modelfiles import git

    gen = repo / "models/chat-tuned/generation_config.json"
    gen.write_text(gen.read_text().replace('"temperature": 0.7', '"temperature": 0.6'))
    git(repo, "commit", "-qam", "fix: cooler sampling")
    git(repo, "tag", 'chat-tuned/v2"|x')
    config = load_config(repo)
    files = site_pages(config, render_project(config), make_environment(config.templates))
    home = files["modelcards-site/docs/index.md"]
    row = next(line for line in home.splitlines() if line.startswith("| [chat-tuned]"))
    assert row.count(" | ") == 7  # eight cells: the pipe in the tag is escaped
    assert "[chat-tuned/v2&quot;\\|x](models/chat-tuned/releases/chat-tuned-v2-x.md)" in row
    release = files["modelcards-site/docs/models/chat-tuned/releases/chat-tuned-v2-x.md"]
    assert release.startswith('---\ntitle: "chat-tuned/v2\\"|x"\n')
    assert "cooler sampling" in release
