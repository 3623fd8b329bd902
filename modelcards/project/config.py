"""The project config: `modelcards.yml`, or `[tool.modelcards]` in pyproject.toml.

Validated up front, every key checked: an unknown or mistyped key is an error naming the file,
the line and the key (with a suggestion), never something silently ignored.
"""

from __future__ import annotations

import datetime as dt
import difflib
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelcards.assess.findings import Severity
from modelcards.assess.governance_items import CONFIGURABLE, ITEMS
from modelcards.assess.policy import PROVIDER_POLICIES, Policy, Waiver
from modelcards.history.keyless import KeylessIdentity
from modelcards.project.compliance_config import model_compliance, project_compliance
from modelcards.project.config_checker import Checker, kind_of, string_list
from modelcards.project.signing_config import IDENTITY_KEYS, require_signers, signing_identity
from modelcards.publish.settings import SiteConfig
from modelcards.render.provider_details import ProviderValue
from modelcards.render.subject import DeclaredCompute
from modelcards.resolve.base_spec import BaseSpec
from modelcards.resolve.hubid import classify_base_name
from modelcards.safeio.errors import ConfigError
from modelcards.safeio.textfile import read_project_text
from modelcards.safeio.yamlcache import cached_plain_yaml
from modelcards.safeio.yamlsafe import load_yaml, plain_data, too_deep

CONFIG_NAME = "modelcards.yml"
CARD_KEYS = ("license", "language", "datasets", "library_name", "pipeline_tag", "tags")
ENTRY_KEYS = ("path", "name", "base", "card", "training_files", "tags", "governance",
              "compliance", "base_signing_key", *IDENTITY_KEYS)  # fmt: skip


@dataclass(frozen=True)
class SigningKey:
    """A public key from modelcards.yml, with the key it was given under (for the card)."""

    path: str  # relative to the project root
    where: str  # e.g. "models[0].base_signing_key"


@dataclass(frozen=True)
class ModelEntry:
    """One model of the project, as the config names it."""

    name: str
    path: str
    base: BaseSpec | None
    card: Mapping[str, Any] = field(default_factory=dict)
    # files outside the model folder whose history is the model's too (training code, configs)
    training_files: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()  # release tag patterns; default `<folder name>/v*` and `v*`
    governance: Mapping[str, str] = field(default_factory=dict)  # item → file or link
    base_training_flop: DeclaredCompute | None = None  # compliance: the original's compute
    provider: Mapping[str, ProviderValue] = field(default_factory=dict)  # compliance: its own
    base_signing_key: SigningKey | None = None  # what the base folder's model.sig is checked with
    signing_identity: KeylessIdentity | None = None  # its keyless signer (Sigstore)


@dataclass(frozen=True)
class ProjectConfig:
    root: Path
    file: str  # the config file, relative to root (for messages)
    models: tuple[ModelEntry, ...]
    site: SiteConfig = SiteConfig()
    templates: Path | None = None
    card: Mapping[str, Any] = field(default_factory=dict)
    policy: Policy = Policy()
    deep: bool = False  # compare tensor contents on every build (build --deep does it once)
    waivers: tuple[Waiver, ...] = ()
    governance: Mapping[str, str] = field(default_factory=dict)  # defaults for every model
    base_training_flop: Mapping[str, DeclaredCompute] = field(default_factory=dict)  # by base id
    provider: Mapping[str, ProviderValue] = field(default_factory=dict)  # every model's default


MAX_CONFIG_BYTES = 4 * 1024 * 1024


def find_config(root: Path, *, fast: bool = False) -> tuple[Any, str] | None:
    """(raw config, file name) from modelcards.yml, else pyproject's [tool.modelcards].

    `fast`: modelcards.yml as plain data through libyaml when that is certain to read the
    same (`safeio/yamlfast.py`; kept in the cache while the text is the same,
    `safeio/yamlcache.py`), without the line numbers an error message names.
    """
    yml = root / CONFIG_NAME
    text = read_project_text(
        yml, root=root, file=CONFIG_NAME, max_bytes=MAX_CONFIG_BYTES, error=ConfigError
    )
    if text is not None:
        plain = cached_plain_yaml(text, yml) if fast and not too_deep(text) else None
        if plain is not None:
            data = plain[0]
        else:
            data = load_yaml(text, file=CONFIG_NAME, error=ConfigError, roundtrip=True)
        return data if data is not None else {}, CONFIG_NAME
    pyproject = read_project_text(
        root / "pyproject.toml",
        root=root,
        file="pyproject.toml",
        max_bytes=MAX_CONFIG_BYTES,
        error=ConfigError,
    )
    if pyproject is not None:  # only a project configured in pyproject.toml reads TOML
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover - Python 3.10
            import tomli as tomllib
        try:
            data = tomllib.loads(pyproject)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"invalid TOML: {exc}", file="pyproject.toml") from None
        section = data.get("tool", {}).get("modelcards")
        if section is not None:
            return section, "pyproject.toml [tool.modelcards]"
    return None


def load_config(root: Path) -> ProjectConfig:
    """The project's config, read fast; a config with a mistake is read again round-trip, so
    that the message names the line."""
    found = find_config(root, fast=True)
    if found is None:
        raise ConfigError(
            f"no {CONFIG_NAME} (or [tool.modelcards] in pyproject.toml) in {root}: "
            "run `modelcards init` to write one"
        )
    raw, file = found
    try:
        return parse_config(raw, root=root, file=file)
    except ConfigError:
        if file != CONFIG_NAME:
            raise
    again = find_config(root)
    assert again is not None
    return parse_config(again[0], root=root, file=file)


def parse_config(raw: Any, *, root: Path, file: str) -> ProjectConfig:
    check = Checker(file)
    top = check.mapping(
        raw,
        "",
        (
            "models",
            "site",
            "templates",
            "card",
            "policy",
            "waivers",
            "governance",
            "deep",
            "compliance",
        ),
    )
    if "deep" in top and not isinstance(top["deep"], bool):
        raise check.fail("deep", "expected true or false", top, "deep")
    models_raw = top.get("models")
    if not isinstance(models_raw, list) or not models_raw:
        raise check.fail("models", "expected a non-empty list of models", top, "models")
    models = [_model(check, item, i, models_raw, root) for i, item in enumerate(models_raw)]
    names = [m.name for m in models]
    for name in names:
        if names.count(name) > 1:
            raise check.fail(
                "models", f"two models are named {name!r}: give one a `name:`", top, "models"
            )
    site = SiteConfig()
    if "site" in top:
        site_raw = check.mapping(
            top["site"], "site", ("enabled", "dir", "output", "title", "mermaid_js"), top, "site"
        )
        if "mermaid_js" in site_raw:
            raise check.fail(
                "site.mermaid_js",
                "no longer needed: the lineage graph is drawn as SVG when the site is built, "
                "with nothing to fetch; remove the key",
                site_raw,
                "mermaid_js",
            )
        if "enabled" in site_raw and not isinstance(site_raw["enabled"], bool):
            raise check.fail("site.enabled", "expected true or false", site_raw, "enabled")
        site = SiteConfig(
            enabled=site_raw.get("enabled", True),
            dir=check.string(site_raw.get("dir", site.dir), "site.dir", site_raw, "dir"),
            output=check.string(
                site_raw.get("output", site.output), "site.output", site_raw, "output"
            ),
            title=check.string(site_raw.get("title", site.title), "site.title", site_raw, "title"),
        )
        for key in ("dir", "output"):
            if getattr(site, key) is not None and not _inside(root, getattr(site, key)):
                raise check.fail(f"site.{key}", "must be a path inside the project", site_raw, key)
    templates = None
    if "templates" in top:
        relative = check.string(top["templates"], "templates", top, "templates")
        folder = root / relative
        if not _inside(root, relative):
            raise check.fail(
                "templates", "must be a folder inside the project (resolved)", top, "templates"
            )
        if not folder.is_dir():
            raise check.fail("templates", f"no such folder: {top['templates']}", top, "templates")
        templates = folder
    card = _card(check, top.get("card", {}), "card", top)
    names_set = set(names)
    flop_by_id, provider = project_compliance(check, top.get("compliance", {}), top, root)
    policy = _policy(check, top.get("policy", {}), top)
    if policy.require_signature:
        signers = [(m.name, m.signing_identity is not None) for m in models]
        require_signers(check, top.get("policy"), policy.signing_key, signers)
    return ProjectConfig(
        policy=policy,
        deep=bool(top.get("deep", False)),
        waivers=tuple(_waivers(check, top.get("waivers", []), top, names_set)),
        governance=_governance(check, top.get("governance", {}), "governance", top, root),
        base_training_flop=flop_by_id,
        provider=provider,
        root=root,
        file=file,
        models=tuple(models),
        site=site,
        templates=templates,
        card=card,
    )


def _card(check: Checker, value: Any, where: str, parent: Any) -> dict[str, Any]:
    card = check.mapping(value, where, CARD_KEYS, parent, where.rsplit(".", 1)[-1])
    return {k: plain_data(v) for k, v in card.items()}


def _inside(root: Path, relative: str) -> bool:
    target = (root / relative).resolve()
    return target != root.resolve() and target.is_relative_to(root.resolve())


def _model(check: Checker, item: Any, index: int, parent: Any, root: Path) -> ModelEntry:
    where = f"models[{index}]"
    model = check.mapping(item, where, ENTRY_KEYS, parent, index)
    if "path" not in model:
        raise check.fail(where, "missing `path` (the model's folder)", parent, index)
    path = check.string(model["path"], f"{where}.path", model, "path")
    if problem := _path_problem(path):
        raise check.fail(f"{where}.path", problem, model, "path")
    if Path(path).is_absolute() or ".." in Path(path).parts:
        raise check.fail(
            f"{where}.path", "must be relative to the project root, inside it", model, "path"
        )
    # a model at the project root (`path: .`) is named after the project folder
    default_name = Path(path).name or root.resolve().name
    name = check.string(model.get("name", default_name), f"{where}.name", model, "name")
    base = _base(check, model.get("base"), f"{where}.base", model, root)
    card = _card(check, model.get("card", {}), f"{where}.card", model)
    training_files = string_list(
        check, model.get("training_files", []), f"{where}.training_files", model, "training_files"
    )
    for item_path in training_files:
        if Path(item_path).is_absolute() or ".." in Path(item_path).parts:
            raise check.fail(
                f"{where}.training_files",
                f"{item_path!r} must be inside the project",
                model,
                "training_files",
            )
    tags = string_list(check, model.get("tags", []), f"{where}.tags", model, "tags")
    flop, provider = model_compliance(
        check, model.get("compliance", {}), f"{where}.compliance", model, root
    )
    return ModelEntry(
        name=name,
        path=Path(path).as_posix(),
        base=base,
        card=card,
        training_files=tuple(training_files),
        tags=tuple(tags),
        governance=_governance(
            check, model.get("governance", {}), f"{where}.governance", model, root
        ),
        base_training_flop=flop,
        provider=provider,
        base_signing_key=_signing_key(check, model, where, root),
        signing_identity=signing_identity(check, model, where, root),
    )


def _signing_key(check: Checker, model: Any, where: str, root: Path) -> SigningKey | None:
    """`models[i].base_signing_key`: the public key the base's own signature is checked with."""
    if "base_signing_key" not in model:
        return None
    key = f"{where}.base_signing_key"
    path = check.string(model["base_signing_key"], key, model, "base_signing_key")
    if not _inside(root, path) or not (root / path).is_file():
        raise check.fail(key, f"no such file in the project: {path}", model, "base_signing_key")
    return SigningKey(path=Path(path).as_posix(), where=key)


def _base(check: Checker, value: Any, where: str, parent: Any, root: Path) -> BaseSpec | None:
    if value is None:
        return None
    if isinstance(value, str):
        if problem := _path_problem(value):
            raise check.fail(where, problem, parent, "base")
        return parse_base_string(value, root)
    spec = check.mapping(value, where, ("path", "id", "revision"), parent, "base")
    for key in spec:
        check.string(spec[key], f"{where}.{key}", spec, key)
    if problem := _path_problem(spec.get("path") or ""):
        raise check.fail(f"{where}.path", problem, spec, "path")
    if "path" not in spec and "id" not in spec:
        raise check.fail(
            where, "needs `path` (where the files are) or `id` (a Hub id)", parent, "base"
        )
    if "id" in spec:
        named = classify_base_name(spec["id"])
        if named is None or named.id is None or named.revision is not None:
            raise check.fail(
                f"{where}.id",
                f"{spec['id']!r} is not a Hub id like org/name or gpt2 "
                "(a revision goes in `revision`)",
                spec,
                "id",
            )
        spec = {**spec, "id": named.id}
    return BaseSpec(path=spec.get("path"), id=spec.get("id"), revision=spec.get("revision"))


MAX_PATH_CHARS = 1024


def _path_problem(value: str) -> str | None:
    """Why a path cannot name a file on any system we run on (checked before one is asked)."""
    if len(value) > MAX_PATH_CHARS:
        return f"longer than {MAX_PATH_CHARS} characters"
    if any(len(part.encode("utf-8", "replace")) > 255 for part in value.split("/")):
        return "a path component is longer than 255 bytes"
    return None


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:  # a name too long for the file system is no folder
        return False


def parse_base_string(value: str, root: Path) -> BaseSpec:
    """A folder when one exists at that path (or it cannot be a Hub id), else a Hub id
    (`org/name`, a legacy `gpt2`, a Hub URL; `@revision` optional).

    A local path is recorded as a path and never published as a Hub id.
    """
    named = None if value.startswith("git:") else classify_base_name(value)
    if _is_dir(root / value) or named is None or named.id is None:
        return BaseSpec(path=value)
    return BaseSpec(id=named.id, revision=named.revision)


def _governance(check: Checker, value: Any, where: str, parent: Any, root: Path) -> dict[str, str]:
    """item → a link, an address, or a file inside the project (never one outside it)."""
    items = check.mapping(value, where, CONFIGURABLE, parent, where.rsplit(".", 1)[-1])
    evidence = {k: check.string(v, f"{where}.{k}", items, k) for k, v in items.items()}
    for key, text in evidence.items():
        is_link = "://" in text or text.startswith("mailto:") or "@" in text
        if not is_link and not (root / text).resolve().is_relative_to(root.resolve()):
            raise check.fail(
                f"{where}.{key}", "must be a link or a file inside the project", items, key
            )
    return evidence


def _severity(check: Checker, value: Any, where: str, parent: Any, key: str) -> Severity:
    try:
        return Severity.parse(str(value))
    except ValueError:
        allowed = ", ".join(s.value for s in Severity)
        raise check.fail(where, f"{value!r} is not a severity ({allowed})", parent, key) from None


def _policy(check: Checker, value: Any, parent: Any) -> Policy:
    policy = check.mapping(
        value,
        "policy",
        (
            "fail_on",
            "required",
            "required_sections",
            "require_signature",
            "signing_key",
            "require_provider_details",
        ),  # fmt: skip
        parent,
        "policy",
    )
    required = string_list(check, policy.get("required", []), "policy.required", policy, "required")
    for item in required:
        if item not in ITEMS:
            hint = difflib.get_close_matches(item, list(ITEMS), n=1)
            suggestion = (
                f" (did you mean {hint[0]!r}?)" if hint else f" (items: {', '.join(ITEMS)})"
            )
            raise check.fail(
                "policy.required",
                f"unknown governance item {item!r}{suggestion}",
                policy,
                "required",
            )
    sections = string_list(
        check,
        policy.get("required_sections", []),
        "policy.required_sections",
        policy,
        "required_sections",
    )
    fail_on = policy.get("fail_on", "high")
    require_signature = policy.get("require_signature", False)
    if not isinstance(require_signature, bool):
        raise check.fail(
            "policy.require_signature",
            f"expected true or false, found {kind_of(require_signature)}",
            policy,
            "require_signature",
        )
    key = policy.get("signing_key")
    if key is not None:
        key = check.string(key, "policy.signing_key", policy, "signing_key")
    provider = policy.get("require_provider_details", "never")
    if provider not in PROVIDER_POLICIES:
        raise check.fail("policy.require_provider_details",
                         f"expected one of {', '.join(PROVIDER_POLICIES)}, found {provider!r}",
                         policy, "require_provider_details")  # fmt: skip
    return Policy(
        fail_on=_severity(check, fail_on, "policy.fail_on", policy, "fail_on"),
        require_provider_details=provider,
        required=tuple(required),
        required_sections=tuple(sections),
        require_signature=require_signature,
        signing_key=key,
    )


def _waivers(check: Checker, value: Any, parent: Any, models: set[str]) -> list[Waiver]:
    if not isinstance(value, list):
        raise check.fail("waivers", f"expected a list, found {kind_of(value)}", parent, "waivers")
    waivers = []
    for index, item in enumerate(value):
        where = f"waivers[{index}]"
        spec = check.mapping(
            item, where, ("rule", "model", "file", "reason", "owner", "expires"), value, index
        )
        for key in ("rule", "reason", "owner"):
            if key not in spec:
                raise check.fail(
                    where, f"missing `{key}` (a waiver needs rule, reason and owner)", value, index
                )
        rule = check.string(spec["rule"], f"{where}.rule", spec, "rule")
        from modelcards.assess.rules import RULES  # the catalogue: only a waiver names a rule

        if rule not in RULES:
            raise check.fail(
                f"{where}.rule", f"unknown rule {rule!r} (see `modelcards rules`)", spec, "rule"
            )
        model = spec.get("model")
        if model is not None and model not in models:
            raise check.fail(f"{where}.model", f"no model is named {model!r}", spec, "model")
        expires = spec.get("expires")
        if expires is not None and not isinstance(expires, dt.date):
            try:
                expires = dt.date.fromisoformat(str(expires))
            except ValueError:
                raise check.fail(
                    f"{where}.expires", f"{expires!r} is not a date (YYYY-MM-DD)", spec, "expires"
                ) from None
        waivers.append(Waiver(
            rule=rule,
            reason=check.string(spec["reason"], f"{where}.reason", spec, "reason"),
            owner=check.string(spec["owner"], f"{where}.owner", spec, "owner"),
            model=model,
            file=check.string(spec["file"], f"{where}.file", spec, "file") if "file" in spec else None,
            expires=expires,
        ))  # fmt: skip
    return waivers
