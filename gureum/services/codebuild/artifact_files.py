"""Which files of a build's source dir go into an artifact or a report.  Pure: no I/O.

The caller lists the files under the source dir (relative POSIX paths);
:func:`select_files` applies the buildspec's rules:

* ``files`` are globs relative to ``base-directory`` (or the source root):
  ``*`` and ``?`` stay inside one path segment, a ``**`` segment matches any
  number of directories (``**/*`` is every file), ``[abc]`` is a class; a
  plain path (no wildcard) naming a directory takes everything under it;
* ``exclude-paths`` globs (same rules) drop files again;
* names in the artifact are relative to ``base-directory``, or just the file
  name with ``discard-paths: yes`` (a later duplicate name is dropped: the
  first file wins, in sorted order).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from gureum.services.codebuild.buildspec import FileSet


@lru_cache(maxsize=256)
def glob_regex(pattern: str) -> re.Pattern[str]:
    """A compiled regex for one buildspec glob (relative, ``/``-separated)."""
    pattern = pattern.strip()
    while pattern.startswith("./"):
        pattern = pattern[2:]
    parts = [p for p in pattern.strip("/").split("/") if p not in ("", ".")]
    out = ""
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if part == "**":
            out += ".*" if last else "(?:[^/]+/)*"
            continue
        out += _segment(part) + ("" if last else "/")
    return re.compile(out + r"\Z")


def _segment(part: str) -> str:
    out, i = "", 0
    while i < len(part):
        c = part[i]
        if c == "*":
            out += "[^/]*"
        elif c == "?":
            out += "[^/]"
        elif c == "[":
            end = part.find("]", i + 1)
            if end == -1:
                out += re.escape(c)
            else:
                body = part[i + 1 : end].replace("\\", "\\\\")
                if body.startswith("!"):
                    body = "^" + body[1:]
                out += f"[{body}]"
                i = end
        else:
            out += re.escape(c)
        i += 1
    return out


def matches(pattern: str, path: str) -> bool:
    """Whether ``path`` (relative) is picked by ``pattern``, itself or as a file under it."""
    rx = glob_regex(pattern)
    if rx.match(path):
        return True
    if any(c in pattern for c in "*?["):
        return False
    # A plain path naming a directory takes the files under it.
    parts = path.split("/")
    return any(rx.match("/".join(parts[:n])) for n in range(1, len(parts)))


def select_files(paths: Iterable[str], spec: FileSet) -> list[tuple[str, str]]:
    """``(path under the source dir, name in the artifact)`` for each picked file, sorted."""
    base = spec.base_directory.strip("/")
    prefix = base + "/" if base else ""
    picked: list[tuple[str, str]] = []
    seen: set[str] = set()
    for path in sorted(paths):
        if not path.startswith(prefix):
            continue
        rel = path[len(prefix) :]
        if not any(matches(p, rel) for p in spec.files):
            continue
        if any(matches(p, rel) for p in spec.exclude_paths):
            continue
        name = rel.rsplit("/", 1)[-1] if spec.discard_paths else rel
        if name in seen:
            continue
        seen.add(name)
        picked.append((path, name))
    return picked
