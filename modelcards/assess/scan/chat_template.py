"""Chat templates that can escape a Jinja2 sandbox: parsed with Jinja2's parser, never rendered.

Several runtimes rendered `tokenizer.chat_template` without a sandbox (llama-cpp-python,
CVE-2024-34359; vLLM; SGLang, CVE-2026-5760), so a template that reaches `__class__`,
`__globals__` or `os.popen` runs code when a chat starts. Real templates only index messages
and call filters, so any reach into Python internals is a finding. Names are folded from
string pieces first (`'__cla' ~ 'ss__'`, `|join`, `|reverse`, `|format`, `{% set %}`), so
splitting a name does not hide it. Used for GGUF metadata, tokenizer_config.json,
chat_template.json and `.jinja` files.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from jinja2 import TemplateSyntaxError, nodes
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

from modelcards.assess.findings import EvidenceValue, Finding
from modelcards.assess.rules import finding
from modelcards.inspect.chat_template import (
    GenerationTag,  # `{% generation %}`, parsed as transformers does
)
from modelcards.resolve.model_files import TEMPLATE_CARRIERS

TEMPLATE_FILES = TEMPLATE_CARRIERS  # the JSON files a chat template can be stored in
MAX_TEMPLATE_CHARS = 1024 * 1024  # the largest real templates are ~20 kB
MAX_NODES = 200_000
# Attribute names that only a sandbox escape needs (besides every name starting with "_").
_ESCAPE_NAMES = frozenset({
    "popen", "eval", "exec", "import_module", "func_globals", "f_globals", "f_locals",
    "f_builtins", "f_back", "gi_frame", "gi_code", "tb_frame", "cr_frame", "mro", "subprocess",
    "os", "builtins", "getattr", "check_output", "load_module",
})  # fmt: skip
# Globals that Jinja (lipsum, cycler, joiner, namespace, range, dict) or Flask (request, config,
# url_for, ...) provide, whose attributes lead to `__globals__`.
_GLOBALS = frozenset({
    "lipsum", "cycler", "joiner", "namespace", "range", "dict", "self", "request", "config",
    "url_for", "get_flashed_messages", "g", "session", "__builtins__", "os",
})  # fmt: skip
_CASE_FILTERS: dict[str, Callable[[str], str]] = {
    "lower": str.lower,
    "upper": str.upper,
    "title": str.title,
    "trim": str.strip,
}


_ENV = ImmutableSandboxedEnvironment(extensions=[GenerationTag, loopcontrols])


class _Folder:
    """Constant strings of the template, with `{% set name = 'x' ~ 'y' %}` propagated."""

    def __init__(self, tree: nodes.Template) -> None:
        self.names: dict[str, str] = {}
        for assign in tree.find_all(nodes.Assign):
            if isinstance(assign.target, nodes.Name):
                value = self.fold(assign.node)
                if value is not None:
                    self.names[assign.target.name] = value

    def fold(self, node: nodes.Node, depth: int = 0) -> str | None:
        if depth > 50:
            return None
        d = depth + 1
        if isinstance(node, nodes.Const):
            return node.value if isinstance(node.value, str) else None
        if isinstance(node, nodes.Name):
            return self.names.get(node.name)
        if isinstance(node, nodes.Concat):
            parts = [self.fold(n, d) for n in node.nodes]
            return None if None in parts else "".join(p or "" for p in parts)
        if isinstance(node, nodes.Add):
            left, right = self.fold(node.left, d), self.fold(node.right, d)
            return left + right if left is not None and right is not None else None
        if isinstance(node, nodes.Mod):
            return self._format(node.left, [node.right], d)
        if isinstance(node, nodes.List | nodes.Tuple):
            return None
        if isinstance(node, nodes.Filter) and node.node is not None:
            return self._filter(node, d)
        return None

    def _format(self, pattern: nodes.Node, args: list[nodes.Node], d: int) -> str | None:
        text = self.fold(pattern, d)
        if len(args) == 1 and isinstance(args[0], nodes.Tuple):
            args = list(args[0].items)
        values = [self.fold(a, d) for a in args]
        if text is None or None in values:
            return None
        try:
            return text % tuple(values)
        except (TypeError, ValueError):
            return None

    def _filter(self, node: nodes.Filter, d: int) -> str | None:
        assert node.node is not None
        if node.name == "join" and isinstance(node.node, nodes.List | nodes.Tuple):
            parts = [self.fold(n, d) for n in node.node.items]
            sep = self.fold(node.args[0], d) if node.args else ""
            return None if None in parts or sep is None else sep.join(p or "" for p in parts)
        if node.name == "format":
            return self._format(node.node, list(node.args), d)
        value = self.fold(node.node, d)
        if value is None:
            return None
        if node.name == "reverse":
            return value[::-1]
        if node.name in _CASE_FILTERS:
            return _CASE_FILTERS[node.name](value)
        if node.name == "replace" and len(node.args) >= 2:
            old, new = self.fold(node.args[0], d), self.fold(node.args[1], d)
            return value.replace(old, new) if old is not None and new is not None else None
        if node.name in ("string", "e", "escape", "safe"):
            return value
        return None


def _escape_name(name: str) -> bool:
    return name.startswith("_") or name in _ESCAPE_NAMES


def template_problems(source: str) -> tuple[list[str], list[str]] | str:
    """(reaches into Python internals, computed names or loaded templates), or why it does not
    parse."""
    if len(source) > MAX_TEMPLATE_CHARS:
        return f"template of {len(source):,} characters is larger than {MAX_TEMPLATE_CHARS:,}"
    try:
        with warnings.catch_warnings():  # odd escapes in hostile strings warn; not our output
            warnings.simplefilter("ignore")
            tree = _ENV.parse(source)
    except TemplateSyntaxError as exc:
        return f"line {exc.lineno}: {exc.message}"
    except (RecursionError, MemoryError, ValueError, TypeError) as exc:
        return f"{type(exc).__name__}: {exc}"
    folder = _Folder(tree)
    assigned = (
        set(folder.names)
        | {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
        | {m.name for m in tree.find_all(nodes.Macro)}
    )
    escapes: list[str] = []
    computed: list[str] = []
    for count, node in enumerate(_all_nodes(tree)):
        if count >= MAX_NODES:
            computed.append(f"more than {MAX_NODES:,} nodes; the rest was not checked")
            break
        if isinstance(node, nodes.Getattr):
            if _escape_name(node.attr):
                escapes.append(f".{node.attr}")
            _global_access(node.node, assigned, escapes)
        elif isinstance(node, nodes.Getitem):
            name = folder.fold(node.arg)
            if name is not None and name.startswith("__"):
                escapes.append(f"[{name!r}]")
            elif name is None and _is_string_expr(node.arg):
                computed.append("subscript with a computed string")
            _global_access(node.node, assigned, escapes)
        elif isinstance(node, nodes.Filter) and node.name == "attr":
            name = folder.fold(node.args[0]) if node.args else None
            if name is None:
                computed.append("|attr() with a computed name")
            elif _escape_name(name):
                escapes.append(f"|attr({name!r})")
            if node.node is not None:
                _global_access(node.node, assigned, escapes)
        elif isinstance(node, nodes.Name) and node.ctx == "load":
            if node.name.startswith("__") and node.name not in assigned:
                escapes.append(node.name)
        elif isinstance(node, nodes.Const) and isinstance(node.value, str):
            if _dunder_inside(node.value):
                escapes.append(f"string {node.value[:40]!r}")
        elif isinstance(node, nodes.Extends | nodes.Include | nodes.Import | nodes.FromImport):
            computed.append(f"{{% {type(node).__name__.lower()} %}} of another template")
        if isinstance(node, nodes.Concat | nodes.Add | nodes.Mod | nodes.Filter):
            text = folder.fold(node)  # a name split into pieces, wherever it is used
            if text is not None and _dunder_inside(text):
                escapes.append(f"string built as {text[:40]!r}")
    return sorted(set(escapes)), sorted(set(computed))


_DUNDERS = ("__class__", "__mro__", "__subclasses__", "__globals__", "__builtins__",
            "__import__", "__init__", "__base__", "__dict__", "__getattribute__", "__code__")  # fmt: skip


def _dunder_inside(text: str) -> bool:
    return any(d in text for d in _DUNDERS)


def _is_string_expr(node: nodes.Node) -> bool:
    return isinstance(node, nodes.Concat | nodes.Add | nodes.Mod) or (
        isinstance(node, nodes.Filter) and node.name in ("join", "format", "replace", "reverse")
    )


def _global_access(target: nodes.Node, assigned: set[str], escapes: list[str]) -> None:
    if isinstance(target, nodes.Name) and target.name in _GLOBALS and target.name not in assigned:
        escapes.append(f"attribute of the global {target.name!r}")


def _all_nodes(tree: nodes.Node) -> Iterator[nodes.Node]:
    stack: list[nodes.Node] = [tree]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(node.iter_child_nodes())


def template_findings(
    source: str, file: str, key: str, *, member: str | None = None
) -> list[Finding]:
    """Findings for one chat template found under `key` (a GGUF key or a JSON key path)."""
    where: dict[str, EvidenceValue] = {"key": key}
    if member:
        where["member"] = member
    result = template_problems(source)
    if isinstance(result, str):
        return [finding("MC141", file, f"chat template {key} does not parse: {result}", where)]
    escapes, computed = result
    found = []
    if escapes:
        found.append(
            finding(
                "MC140",
                file,
                f"chat template {key} reaches Python internals: {', '.join(escapes[:5])}",
                {**where, "reaches": escapes[:50]},
            )
        )
    if computed:
        found.append(
            finding(
                "MC142",
                file,
                f"chat template {key} hides what it reads: {', '.join(computed[:5])}",
                {**where, "constructs": computed[:50]},
            )
        )
    return found


def named_templates(value: Any, key: str = "chat_template") -> Iterator[tuple[str, str]]:
    """(key, source) of a `chat_template` value: a string, or a list of {name, template}."""
    if isinstance(value, str):
        yield key, value
    elif isinstance(value, list):
        for item in value[:1000]:
            if isinstance(item, dict) and isinstance(item.get("template"), str):
                yield f"{key}.{item.get('name', '?')}", item["template"]


def file_findings(raw: bytes, file: str, base: str) -> list[Finding]:
    """Templates of tokenizer_config.json, chat_template.json or a `.jinja` file."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return [finding("MC141", file, "chat template file is not UTF-8", {"key": base})]
    if base.endswith(".jinja"):
        return template_findings(text, file, base)
    try:
        config = json.loads(text)
    except (ValueError, RecursionError):
        return []  # a broken config is reported by the config check (MC306)
    if not isinstance(config, dict):
        return []
    found: list[Finding] = []
    for key, source in named_templates(config.get("chat_template")):
        found += template_findings(source, file, key)
    return found
