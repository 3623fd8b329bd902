"""A small progress bar for long byte-bound work (deep compare, hashing), on stderr only.

`progress_bar()` gives a callback `(done, total)` that draws one line with bytes, rate and ETA
when stderr is a terminal, and None otherwise, so logs and CI output stay clean:

    bar = progress_bar("deep compare")
    diff = deep_compare(base, tuned, base_snap, tuned_snap, progress=bar)
    if bar:
        bar.close()
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

Progress = Callable[[int, int], None]  # (bytes done, bytes total)


def human_bytes(count: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(count) < 1000 or unit == "TB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    raise AssertionError("unreachable")


def _duration(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}:{seconds % 60:02d}"


class ProgressBar:
    """Redraws at most every `interval` seconds; call `close()` to end the line."""

    def __init__(self, label: str, *, stream: TextIO, width: int = 24, interval: float = 0.2):
        self.label = label
        self.stream = stream
        self.width = width
        self.interval = interval
        self.start = time.monotonic()
        self._last = 0.0
        self._drawn = False

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self._last < self.interval and done < total:
            return
        self._last = now
        elapsed = now - self.start
        share = done / total if total else 1.0
        filled = int(self.width * share)
        bar = "#" * filled + "-" * (self.width - filled)
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = _duration((total - done) / rate) if rate > 0 else "?"
        self.stream.write(
            f"\r{self.label} [{bar}] {human_bytes(done)}/{human_bytes(total)} "
            f"{human_bytes(rate)}/s ETA {eta}  "
        )
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def progress_bar(label: str, stream: TextIO | None = None) -> ProgressBar | None:
    """A bar on `stream` (stderr by default) if it is a terminal, else None."""
    stream = stream if stream is not None else sys.stderr
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    return ProgressBar(label, stream=stream) if tty else None
