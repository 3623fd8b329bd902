from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from modelcards.assess.findings import ScanReport
from modelcards.assess.scan import scan_path


@pytest.fixture
def scan_bytes_as(tmp_path: Path) -> Callable[[str, bytes], ScanReport]:
    """Write `data` as `name` in a fresh model folder and scan the folder."""

    def run(name: str, data: bytes) -> ScanReport:
        folder = tmp_path / "model"
        folder.mkdir(exist_ok=True)
        (folder / name).write_bytes(data)
        return scan_path(folder)

    return run
