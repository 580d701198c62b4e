"""PURE: the one check every remote or uploaded path passes before it names a file of a library.

A library path is relative and "/"-separated, each segment a plain name. Whatever could leave the
library or mean something else on another system is refused rather than repaired: ``..``, an absolute
path (or a Windows drive), NUL, a backslash (a separator on Windows), control characters, characters that
are not valid text (undecodable bytes of a local name), empty segments, a segment over 255 bytes or a path
over 1024 bytes (UTF-8). The only normalisation is dropping ``.`` segments, which name nothing.
"""

from __future__ import annotations

import re
import unicodedata

MAX_SEGMENT_BYTES = 255
MAX_PATH_BYTES = 1024
_DRIVE = re.compile(r"^[A-Za-z]:")


class UnsafePath(ValueError):
    """A path that must not name a library file, with the reason why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _character_problem(name: str) -> str | None:
    """Why a character of ``name`` is refused, or None."""
    if "\x00" in name:
        return "it contains a NUL character"
    if "\\" in name:
        return "it contains a backslash"
    for char in name:
        category = unicodedata.category(char)
        if category == "Cc":
            return f"it contains the control character U+{ord(char):04X}"
        if category == "Cs":  # what os.fsdecode makes of bytes that are not UTF-8
            return "it is not valid UTF-8"
    return None


def safe_path(name: str) -> str:
    """``name`` as a checked relative library path ("a/b.txt"); raise UnsafePath saying why it is refused."""
    if not isinstance(name, str) or not name:
        raise UnsafePath("the path is empty")
    if problem := _character_problem(name):
        raise UnsafePath(problem)
    if name.startswith("/") or _DRIVE.match(name):
        raise UnsafePath("it is an absolute path")
    segments = name.split("/")
    if "" in segments:
        raise UnsafePath("it has an empty segment")
    if ".." in segments:
        raise UnsafePath("it contains '..'")
    kept = [segment for segment in segments if segment != "."]
    if not kept:
        raise UnsafePath("the path is empty")
    for segment in kept:
        if len(segment.encode()) > MAX_SEGMENT_BYTES:
            raise UnsafePath(f"a name in it is longer than {MAX_SEGMENT_BYTES} bytes")
    path = "/".join(kept)
    if len(path.encode()) > MAX_PATH_BYTES:
        raise UnsafePath(f"it is longer than {MAX_PATH_BYTES} bytes")
    return path


def join(*parts: str) -> str:
    """The checked path of ``parts`` joined with "/" (empty parts, such as the root "", are skipped)."""
    return safe_path("/".join(part for part in parts if part))


def parent_of(path: str) -> str:
    """The folder holding ``path`` ("" for the library's top level)."""
    return path.rpartition("/")[0]


def filename_of(path: str) -> str:
    """The last segment of ``path``."""
    return path.rpartition("/")[2]


def ancestors_of(path: str) -> list[str]:
    """Every folder above ``path``, outermost first ("a/b/c" → ["a", "a/b"])."""
    segments = path.split("/")[:-1]
    return ["/".join(segments[: index + 1]) for index in range(len(segments))]
