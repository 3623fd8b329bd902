"""The shape of the package holds: every import runs down the pipeline (docs/architecture.md).

A module may import its own stage and the stages below it, never one above: `resolve` knows
nothing of `inspect`, `render` nothing of `project`. Lazy imports inside functions count too.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "modelcards"

# lowest first; stages on one line are peers (neither imports the other)
STAGES: tuple[tuple[str, ...], ...] = (
    ("safeio",),
    ("resolve",),
    ("inspect",),
    ("compare",),
    ("assess",),
    ("history",),
    ("render",),
    ("publish",),
    ("export",),  # the CycloneDX card reuses the site's compliance mapping
    ("project",),
    ("api",),
    ("cli", "integrations"),  # the command line; the Trainer callback, over the API
    ("__main__",),
)
RANK = {stage: rank for rank, peers in enumerate(STAGES) for stage in peers}
MAX_MODULE_LINES = 500


def _stage(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
    return [(line, name) for line, name in found if name.split(".")[0] == "modelcards"]


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def test_every_module_belongs_to_a_stage() -> None:
    loose = [
        _module_name(p)
        for p in PACKAGE.rglob("*.py")
        if _stage(_module_name(p)) not in RANK and _module_name(p) != "modelcards"
    ]
    assert loose == [], "place these in a stage folder (and in STAGES here and the docs)"


def test_imports_run_down_the_pipeline() -> None:
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        here = _stage(_module_name(path))
        if here not in RANK:
            continue
        for line, name in _imports(path):
            there = _stage(name)
            if there and there != here and RANK[there] >= RANK[here]:
                upward.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {name}")
    assert upward == []


def test_modules_fit_in_one_head() -> None:
    long = {
        str(p.relative_to(PACKAGE.parent)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


def test_the_architecture_page_names_every_stage_folder() -> None:
    page = (PACKAGE.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    folders = [p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()]
    assert [f for f in folders if f"`{f}/`" not in page] == []
    assert "tests/test_architecture.py" in page
