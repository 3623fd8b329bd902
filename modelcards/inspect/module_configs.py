"""The small configs beside config.json that change what a model computes: sentence-transformers'
module pipeline (modules.json and each module's folder config) and a GPTQ branch's
quantize_config.json.

Optional records: one that cannot be read is a note, and left out, never a failed build.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from modelcards.resolve.model_files import MODULE_FILES
from modelcards.safeio.errors import ModelcardsError

__all__ = ["MODULE_FILES", "read_module_configs"]

MAX_MODULES = 32

ReadAny = Callable[[str], Any]  # a file's parsed JSON, whatever its top-level type


def read_module_configs(present: set[str], read_json: ReadAny, notes: list[str]) -> dict[str, Any]:
    """File name → parsed JSON for the files above and each listed module's `config.json`."""
    configs: dict[str, Any] = {}

    def read(name: str) -> None:
        try:
            configs[name] = read_json(name)
        except ModelcardsError as exc:
            notes.append(f"{name}: {exc.reason}; left out")

    for name in MODULE_FILES:
        if name in present:
            read(name)
    modules = configs.get("modules.json")
    if "modules.json" in configs and not isinstance(modules, list):
        notes.append("modules.json: not a list of modules; left out")
        del configs["modules.json"]
        return configs
    for module in (modules or [])[:MAX_MODULES]:
        folder = module.get("path") if isinstance(module, dict) else None
        if isinstance(folder, str) and folder and f"{folder}/config.json" in present:
            read(f"{folder}/config.json")  # a name the folder listing has: no path of ours
    return configs
