"""mkdocs hook of the project's own docs: the bundled example's audit site, built for real.

After the docs are built, the example repository is made in a temporary folder, `modelcards
build` writes its audit site, and that site is copied to `example-site/` in the docs output,
so the gallery links a real site a visitor can click through before installing anything.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

FOLDER = "example-site"


def on_post_build(config: Any, **_: Any) -> None:
    root = Path(config.config_file_path).resolve().parent
    with tempfile.TemporaryDirectory() as tmp:
        demo = Path(tmp) / "demo"
        for command in (
            [sys.executable, str(root / "examples/make_example.py"), str(demo), "--force"],
            [sys.executable, "-m", "modelcards", "build", "-C", str(demo), "--quiet"],
        ):
            result = subprocess.run(command, capture_output=True, text=True, check=False)
            if result.returncode != 0:
                raise RuntimeError(f"{' '.join(command[1:3])} failed: {result.stderr.strip()}")
        target = Path(config.site_dir) / FOLDER
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(demo / "site", target)
