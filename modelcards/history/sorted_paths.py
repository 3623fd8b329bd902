"""Lookups in sorted lists of paths and tag names, so that a fleet of 1,000 models asks each
question of a commit of 20,000 files or a list of tags in a few bisection steps, not a scan.
"""

from __future__ import annotations

import bisect
import fnmatch
import os


def matching(names: list[str], pattern: str) -> list[str]:
    """`fnmatch.filter(names, pattern)` for sorted `names`; a pattern whose one wildcard is a
    final `*` (every model's default, `<folder>/v*`) is a prefix, found by bisection rather
    than compiled into one more regular expression per model."""
    prefix = pattern[:-1]
    if os.name != "posix" or not pattern.endswith("*") or any(c in prefix for c in "*?["):
        return fnmatch.filter(names, pattern)
    found = []
    at = bisect.bisect_left(names, prefix)
    while at < len(names) and names[at].startswith(prefix):
        found.append(names[at])
        at += 1
    return found


def folders_of(folder: str, known: set[str]) -> list[str]:
    """`folder` and the folders above it, up to the first one in `known` (a commit of 20,000
    files in a few hundred folders walks each folder once, not once per file)."""
    found = []
    while folder and folder not in known:
        found.append(folder)
        folder = folder.rpartition("/")[0]
    return found


def under(names: list[str] | tuple[str, ...], paths: list[str]) -> set[str]:
    """The names (sorted) equal to or under one of `paths` ("" is the top): each path's names
    are one run of the sorted list, found by bisection, so a commit of 5,000 files costs a
    model of 1,000 a few steps, not a scan."""
    if "" in paths:
        return set(names)
    found: set[str] = set()
    for path in paths:
        start = bisect.bisect_left(names, path)
        if start < len(names) and names[start] == path:
            found.add(path)
        prefix = path.rstrip("/") + "/"
        at = bisect.bisect_left(names, prefix, start)
        while at < len(names) and names[at].startswith(prefix):
            found.add(names[at])
            at += 1
    return found
