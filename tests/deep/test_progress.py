from __future__ import annotations

import io

from modelcards.safeio.progress import ProgressBar, human_bytes, progress_bar


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_no_bar_when_not_a_terminal() -> None:
    assert progress_bar("deep", io.StringIO()) is None


def test_bar_shows_bytes_and_eta_on_a_terminal() -> None:
    stream = FakeTty()
    bar = progress_bar("deep", stream)
    assert isinstance(bar, ProgressBar)
    bar.interval = 0
    bar(0, 2_000_000_000)
    bar(1_000_000_000, 2_000_000_000)
    bar(2_000_000_000, 2_000_000_000)
    bar.close()
    text = stream.getvalue()
    assert "1.0 GB/2.0 GB" in text and "ETA" in text and "[" + "#" * 24 + "]" in text
    assert text.endswith("\n")


def test_human_bytes() -> None:
    assert human_bytes(999) == "999 B"
    assert human_bytes(1500) == "1.5 KB"
    assert human_bytes(141e9) == "141.0 GB"


def test_bar_is_a_context_manager() -> None:
    stream = FakeTty()
    with ProgressBar("hash", stream=stream, interval=0) as bar:
        bar(5, 10)
    assert stream.getvalue().endswith("\n") and "5 B/10 B" in stream.getvalue()
