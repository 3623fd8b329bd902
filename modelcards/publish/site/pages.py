"""Every file of the site source, as project-relative path → content: the models' pages (card,
audit report, releases, charts, the EU documents) and the index, lineage and compliance pages."""

from __future__ import annotations

import json
import re
from typing import Any

from jinja2.sandbox import SandboxedEnvironment

from modelcards.inspect.card import split_front_matter
from modelcards.publish.charts import training_charts
from modelcards.publish.compliance import compliance
from modelcards.publish.compliance import mapping as compliance_mapping
from modelcards.publish.lineage import lineage_context
from modelcards.publish.settings import SiteProject
from modelcards.publish.site.assets import ASSETS, CSS, SITE_CSS, SORT_JS, SORT_TABLES_JS
from modelcards.publish.site.facts import EU_PAGES, site_facts, unique_slugs
from modelcards.publish.site.folder import MARKER, MARKER_TEXT
from modelcards.publish.site.mkdocs_yml import mkdocs_yaml, site_settings
from modelcards.publish.site.prose import inert_human_parts
from modelcards.publish.site.reuse import PAGES_RECORD, pages_key, pages_record, recorded_pages
from modelcards.publish.site.signature import model_signature
from modelcards.render import RenderedModel
from modelcards.render.environment import builtin_templates, render_template
from modelcards.render.eu_markdown import document_markdown
from modelcards.render.fingerprint import site_inputs, site_marker, site_outputs, templates_digest
from modelcards.safeio.parallel import parallel_map

__all__ = ["model_files", "page_meta", "site_pages", "site_wide_pages"]

# Two pages per model (plus one per release): mkdocs spends a fixed few milliseconds on every page,
# so the report's sections share one page, which also prints as one document. The report stays
# out of the search index: hashes and checklists would bury the models, and indexing it would be a
# large part of the build time; the card page is what search finds.
MODEL_PAGES = (  # page in the model's folder, template, title after the model's name, searchable
    ("index.md", "model.md.j2", "", True),
    ("report.md", "report.md.j2", "audit report", False),
)
TITLE_UNSAFE = re.compile(r"[<>&\x00-\x1f]")


def page_meta(title: str, *, searchable: bool = True, hide: tuple[str, ...] = ()) -> str:
    """YAML front matter naming the page (mkdocs would otherwise title it after the file)."""
    meta: dict[str, Any] = {"title": TITLE_UNSAFE.sub("", title)}
    if hide:  # material's sidebars: "navigation" (left), "toc" (right)
        meta["hide"] = list(hide)
    if not searchable:
        meta["search"] = {"exclude": True}
    return "---\n" + "".join(f"{k}: {json.dumps(v)}\n" for k, v in meta.items()) + "---\n"


def model_files(
    root: str, model: RenderedModel, site: dict[str, Any], env: SandboxedEnvironment
) -> dict[str, str]:
    folder = f"{root}/docs/models/{site['slug']}"
    _, body = split_front_matter(model.card)
    context = dict(
        model.context,
        site=site,
        page_body=inert_human_parts(
            body,
            link_out=True,
            skip=frozenset() if site["has_training"] else frozenset({"training", "evaluation"}),
        ),
    )
    training = context.get("training") or {}
    charts = training_charts(training.get("history") or [])
    context["charts"] = sorted(charts)
    context["compliance"] = compliance(model.context, body)
    files = {f"{folder}/{name}": svg for name, svg in charts.items()}
    name = str(model.context["model"]["name"])
    for page, template, suffix, searchable in MODEL_PAGES:
        title = f"{name}: {suffix}" if suffix else name
        # the long report keeps its table of contents and gives up the (short) site navigation
        meta = page_meta(title, searchable=searchable, hide=() if searchable else ("navigation",))
        files[f"{folder}/{page}"] = meta + render_template(env, f"site/{template}", context)
    for release in site["releases"]:
        files[f"{folder}/releases/{release['slug']}.md"] = page_meta(
            release["tag"] if release["tag"].startswith(name) else f"{name} {release['tag']}"
        ) + render_template(env, "site/release.md.j2", dict(context, release=release))
    for key, (page, label) in EU_PAGES.items():
        document = model.context.get(key)
        if isinstance(document, dict):
            files[f"{folder}/{page}"] = page_meta(
                f"{name}: {label}", searchable=False
            ) + document_markdown(document, extra=_signature_note(key, site))
    files[f"{folder}/card.json"] = model.card_json
    if model.heatmap is not None:
        files[f"{folder}/weight-changes.svg"] = model.heatmap
    return files


def _signature_note(key: str, site: dict[str, Any]) -> dict[str, str] | None:
    """The form's authenticity item on the site: the signature state the site worked out."""
    signature = site.get("signature")
    if key != "model_documentation" or not signature:
        return None
    return {"authenticity": f"signature checked when the site was built: {signature['state']}"}


def site_wide_pages(
    config: SiteProject, entries: list[dict[str, Any]], env: SandboxedEnvironment
) -> dict[str, str]:
    """The pages about every model (home, lineage, compliance mapping), the assets and the
    mkdocs.yml, from each model's slug, card.json context and site facts."""
    root = config.site.dir
    lineage = lineage_context(entries)
    page = {"models": entries, "title": config.site.title, "lineage": lineage}
    # the table of models is wide: the home page gives it the table-of-contents column too
    files = {
        f"{root}/docs/index.md": "---\nhide: [toc]\n---\n"
        + render_template(env, "site/index.md.j2", page),
        f"{root}/docs/lineage.md": render_template(env, "site/lineage.md.j2", page),
        f"{root}/docs/compliance.md": render_template(
            env, "site/compliance-mapping.md.j2", compliance_mapping()
        ),
        f"{root}/docs/{ASSETS}/{CSS}": SITE_CSS,
        f"{root}/docs/{ASSETS}/{SORT_JS}": SORT_TABLES_JS,
        f"{root}/mkdocs.yml": mkdocs_yaml(config),
    }
    return files


def site_pages(
    config: SiteProject,
    models: list[RenderedModel],
    env: SandboxedEnvironment,
    *,
    jobs: int = 1,
    slugs: list[str] | None = None,
    reused: set[str] | None = None,
) -> dict[str, str]:
    """Project-relative path → content for every file of the site source; the models' pages are
    rendered in up to `jobs` processes. `slugs` names the models' folders (default: from their
    names, as `unique_slugs` makes them). `reused` gets the paths of the pages read back from
    the last build, which are on disk as they are returned (`write_site` need not compare)."""
    templates = templates_digest([config.templates, builtin_templates()], site=True)
    root = config.site.dir

    def model_site(pair: tuple[RenderedModel, str]) -> dict[str, str]:
        model, model_slug = pair
        site = dict(site_facts(model.context, model_slug), signature=signatures[model_slug])
        return model_files(root, model, site, env)

    pairs = list(zip(models, slugs or unique_slugs([m.name for m in models]), strict=True))
    signatures = {s: model_signature(config, m) for m, s in pairs}  # not in card.json: see there
    keys = {s: pages_key(m, s, templates, root + json.dumps(signatures[s])) for m, s in pairs}
    known: dict[str, str] = {}  # path → sha256 of the pages read back
    pages = recorded_pages(config.root, root, keys, known)  # unchanged models: last build's
    if reused is not None:
        reused.update(path for texts in pages.values() for path in texts)
    fresh = [pair for pair in pairs if pair[1] not in pages]
    pages.update(zip([s for _, s in fresh], parallel_map(model_site, fresh, jobs), strict=True))
    files: dict[str, str] = {}
    entries = []
    for model, model_slug in pairs:
        files.update(pages[model_slug])
        site = site_facts(model.context, model_slug)
        entries.append({"slug": model_slug, "context": model.context, "site": site})
    files.update(site_wide_pages(config, entries, env))
    files[f"{root}/{PAGES_RECORD}"] = pages_record(keys, pages, known)
    files[f"{root}/{MARKER}"] = site_marker(
        MARKER_TEXT,
        site_inputs(
            site_settings(config), templates, [(m.card, m.changes, m.card_json) for m in models]
        ),
        site_outputs({p: t for p, t in files.items() if not p.endswith(MARKER)}, known),
    )
    return files
