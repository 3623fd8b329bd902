"""What the opcode walk of a pickle stream reports: the imports it found (resolved through the
memo), what it could not resolve, and why reading stopped (`StreamScan`)."""

from __future__ import annotations

from dataclasses import dataclass, field


class _Unknown:
    __slots__ = ()


UNKNOWN = _Unknown()  # any stack value that is not a literal string


@dataclass(frozen=True)
class Import:
    module: str
    name: str
    opcode: str
    offset: int
    pickle_index: int


@dataclass(frozen=True)
class Unresolved:
    opcode: str
    offset: int
    why: str


@dataclass
class StreamScan:
    """Everything one stream told us; `error`/`limit` say why reading stopped early."""

    imports: list[Import] = field(default_factory=list)
    unresolved: list[Unresolved] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    opcodes: int = 0
    pickles: int = 0  # complete pickles (ended by STOP)
    error: str | None = None
    error_offset: int | None = None
    limit: str | None = None
    end: int = 0  # offset after the last complete pickle
    trailing: bool = False  # non-pickle bytes follow the last pickle
    forked: int = 0  # stack items copied to follow joblib array bytes as opcodes

    @property
    def is_pickle(self) -> bool:
        """A complete pickle, or one that imports by name before it breaks.

        Unresolved STACK_GLOBAL and EXT alone do not count: without a named import before them
        the unpickler fails on them, and random bytes (tensor data) hit them by chance.
        """
        return self.pickles > 0 or bool(self.imports)

    @property
    def complete(self) -> bool:
        return self.error is None and self.limit is None


class ScanAbort(Exception):
    """Raised by a stream to stop the whole file's scan (e.g. its byte budget is spent)."""
