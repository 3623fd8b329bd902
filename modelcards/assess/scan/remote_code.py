"""Custom code a model asks its loader to run: `auto_map` entries and shipped `*.py` files.

Python sources are parsed with `ast` and never imported; what they import and call is evidence.
"""

from __future__ import annotations

import ast
from typing import Any

from modelcards.assess.findings import EvidenceValue, Finding
from modelcards.assess.rules import finding
from modelcards.safeio.errors import InspectError
from modelcards.safeio.jsonfile import loads_strict

AUTO_MAP_FILES = frozenset(
    {
        "config.json",
        "tokenizer_config.json",
        "processor_config.json",
        "preprocessor_config.json",
        "feature_extractor_config.json",
        "image_processor_config.json",
        "video_preprocessor_config.json",
    }
)

RISKY_MODULES = frozenset({
    "os", "subprocess", "socket", "sys", "ctypes", "shutil", "pty", "runpy", "importlib",
    "pickle", "marshal", "dill", "cloudpickle", "requests", "urllib", "urllib3", "http",
    "httpx", "aiohttp", "ftplib", "smtplib", "telnetlib", "paramiko", "multiprocessing",
    "webbrowser", "code", "codeop", "builtins", "tempfile", "pip", "posix", "nt", "asyncio",
    "signal", "platform", "glob", "zipimport",
})  # fmt: skip
RISKY_CALLS = frozenset(
    {"eval", "exec", "compile", "__import__", "getattr", "setattr", "globals", "open", "breakpoint"}
)


def _references(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [v for v in value if isinstance(v, str)]
    return []


def _auto_maps(config: dict[str, Any]) -> list[tuple[str, object]]:
    """Every `auto_map` with its key path: sub-configs (text_config, vision_config...) too."""
    found: list[tuple[str, object]] = []
    stack: list[tuple[str, object]] = [("", config)]
    seen = 0
    while stack and seen < 100_000:
        path, node = stack.pop()
        seen += 1
        if isinstance(node, dict):
            for key, value in node.items():
                where = f"{path}.{key}" if path else str(key)
                if key == "auto_map":
                    found.append((where, value))
                else:
                    stack.append((where, value))
        elif isinstance(node, list):
            stack.extend((f"{path}[{i}]", v) for i, v in enumerate(node))
    return sorted(found, key=lambda item: item[0])


def auto_map_findings(raw: bytes, file: str) -> list[Finding]:
    """Findings for every `auto_map` of one JSON config; unparseable JSON is a finding too."""
    try:
        config = loads_strict(raw, file=file)
    except InspectError as exc:
        return [finding("MC306", file, f"cannot parse: {exc.reason}")]
    if not isinstance(config, dict):
        return [finding("MC306", file, f"is a JSON {type(config).__name__}, not an object")]
    findings: list[Finding] = []
    for where, auto_map in _auto_maps(config):
        if not isinstance(auto_map, dict):
            findings.append(
                finding(
                    "MC301",
                    file,
                    f"{where} is present but is not an object",
                    {"key": where, "type": type(auto_map).__name__},
                )
            )
            continue
        local: list[str] = []
        for key, value in auto_map.items():
            for ref in _references(value):
                if "--" in ref:
                    repo, _, target = ref.partition("--")
                    findings.append(
                        finding(
                            "MC302",
                            file,
                            f"{where} {key} loads {target!r} from the repository {repo!r}",
                            {"key": f"{where}.{key}", "reference": ref, "repository": repo},
                        )
                    )
                else:
                    local.append(f"{key}={ref}")
        if local:
            findings.append(
                finding(
                    "MC301",
                    file,
                    f"{where} runs this repository's code: {', '.join(local[:8])}",
                    {"key": where, "references": local[:50]},
                )
            )
    pipelines = config.get("custom_pipelines")
    if isinstance(pipelines, dict) and pipelines:
        findings.append(
            finding(
                "MC301",
                file,
                "custom_pipelines name custom pipeline code",
                {"pipelines": sorted(str(k) for k in pipelines)[:50]},
            )
        )
    return findings


class _Uses(ast.NodeVisitor):
    def __init__(self) -> None:
        self.imports: set[str] = set()
        self.calls: set[str] = set()

    def visit_Import(self, node: ast.Import) -> None:
        self.imports.update(alias.name for alias in node.names)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module and not node.level:
            self.imports.add(node.module)

    def visit_Call(self, node: ast.Call) -> None:
        func: Any = node.func
        if isinstance(func, ast.Name) and func.id in RISKY_CALLS:
            self.calls.add(func.id)
        elif isinstance(func, ast.Attribute) and func.attr in RISKY_CALLS | {"system", "popen"}:
            self.calls.add(func.attr)
        self.generic_visit(node)


def python_findings(
    raw: bytes, file: str, *, complete: bool, member: str | None = None
) -> list[Finding]:
    """One finding for the file itself, one more if it reaches for risky APIs."""
    where: dict[str, EvidenceValue] = {"member": member} if member else {}
    findings = [
        finding("MC303", file, "Python source shipped with the model", {**where, "bytes": len(raw)})
    ]
    if not complete:
        findings.append(
            finding(
                "MC305",
                file,
                "Python file is too large to parse",
                {**where, "bytes_read": len(raw)},
            )
        )
        return findings
    try:
        tree = ast.parse(raw, filename=file)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        findings.append(finding("MC305", file, f"cannot parse: {type(exc).__name__}: {exc}", where))
        return findings
    uses = _Uses()
    try:
        uses.visit(tree)
    except RecursionError:
        findings.append(
            finding("MC305", file, "cannot walk the syntax tree: nested too deeply", where)
        )
        return findings
    risky = sorted(m for m in uses.imports if m.split(".")[0] in RISKY_MODULES)
    if risky or uses.calls:
        evidence: dict[str, EvidenceValue] = {
            **where,
            "imports": risky,
            "calls": sorted(uses.calls),
        }
        what = ", ".join([*risky, *(f"{c}()" for c in sorted(uses.calls))][:10])
        findings.append(finding("MC304", file, f"uses {what}", evidence))
    return findings
