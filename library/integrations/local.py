"""Local libraries: a folder under ``INFORMER_LIBRARY_ROOT`` on this machine's disk.

The folder is named relative to the root; absolute paths, ``..`` and symlinks that lead out of the root
are refused at save and checked again before every use (a link may be changed afterwards). Inside the
folder symbolic links are not followed: a link is listed as refused, so a sync never reads a file through
one. The etag is the file's modification time and size in nanoseconds and bytes, which is what changes when
the file is rewritten.
"""

from __future__ import annotations

import mimetypes
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import IO, Any, ClassVar

from django.conf import settings

from library.integrations.base import (
    Integration,
    IntegrationError,
    Listing,
    ListingFailed,
    RefusedName,
    RemoteEntry,
    TestResult,
)
from library.integrations.paths import UnsafePath, safe_path

CHUNK = 64 * 1024
# Uploads are written under this name next to their place and renamed over it; a listing skips them.
_PARTIAL = ".informer-upload-"
FIELD = "settings.path"


def _etag(info: os.stat_result) -> str:
    return f"{info.st_mtime_ns:x}-{info.st_size:x}"


def _modified(info: os.stat_result) -> datetime:
    return datetime.fromtimestamp(info.st_mtime_ns / 1e9, tz=UTC)


def _entry(path: str, info: os.stat_result) -> RemoteEntry:
    if stat.S_ISDIR(info.st_mode):
        return RemoteEntry(path=path, size=0, modified_at=_modified(info), etag="", directory=True)
    content_type = mimetypes.guess_type(path)[0] or ""
    return RemoteEntry(
        path=path, size=info.st_size, modified_at=_modified(info), etag=_etag(info), content_type=content_type
    )


class LocalIntegration(Integration):
    """A folder under the library root on this machine."""

    type: ClassVar[str] = "local"
    name: ClassVar[str] = "Local folder"
    settings_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["path"],
        "properties": {
            "path": {
                "type": "string",
                "title": "Folder",
                "description": "Path of the folder relative to the library root (INFORMER_LIBRARY_ROOT).",
                "minLength": 1,
            },
        },
    }

    def folder(self) -> Path:
        """The library's folder, resolved; IntegrationError (field ``settings.path``) if it is not allowed."""
        raw = self.config.settings.get("path")
        name = raw.strip() if isinstance(raw, str) else ""
        if not name:
            raise IntegrationError("Give the folder's path relative to the library root.", field=FIELD)
        if "\x00" in name:
            raise IntegrationError("The folder path contains a NUL character.", field=FIELD)
        if PurePosixPath(name).is_absolute() or PureWindowsPath(name).is_absolute() or PureWindowsPath(name).drive:
            raise IntegrationError(
                f"Refusing folder {name!r}: absolute paths are not allowed; give a path relative to the library root.",
                field=FIELD,
            )
        if ".." in name.replace("\\", "/").split("/"):
            raise IntegrationError(f"Refusing folder {name!r}: '..' is not allowed in it.", field=FIELD)
        root = Path(settings.INFORMER_LIBRARY_ROOT).resolve()
        resolved = (root / name).resolve()  # follows symlinks, so one pointing out of the root is caught below
        if not resolved.is_relative_to(root):
            raise IntegrationError(
                f"Refusing folder {name!r}: it leads outside the library root (through a symlink).", field=FIELD
            )
        return resolved

    def validate(self) -> None:
        """Refuse a folder that is absolute, holds ``..`` or leads out of the library root."""
        self.folder()

    def _existing_folder(self, *, listing: bool = False) -> Path:
        folder = self.folder()
        if not folder.is_dir():
            error = ListingFailed if listing else IntegrationError
            raise error(f"There is no folder {self.config.settings.get('path')!r} under the library root.")
        return folder

    def _file(self, path: str) -> Path:
        """The file at library path ``path``, checked to stay inside the folder."""
        try:
            path = safe_path(path)
        except UnsafePath as exc:
            raise IntegrationError(f"Refusing path {path!r}: {exc.reason}.") from None
        folder = self.folder()
        target = folder / path
        # The parent may be a link placed after the listing; the file itself may be one too.
        if not target.parent.resolve().is_relative_to(folder) or target.is_symlink():
            raise IntegrationError(f"Refusing path {path!r}: it goes through a symbolic link.")
        return target

    def test(self) -> TestResult:
        """Open the folder and count what is at its top level."""
        started = time.monotonic()
        try:
            folder = self._existing_folder()
            with os.scandir(folder) as entries:
                count = sum(1 for _ in entries)
        except IntegrationError as exc:
            return TestResult(success=False, message=exc.message)
        except OSError as exc:
            return TestResult(success=False, message=f"Could not read the folder: {exc.strerror or exc}.")
        latency = round((time.monotonic() - started) * 1000, 1)
        path = self.config.settings.get("path")
        return TestResult(success=True, message=f"Opened folder {path!r}: {count} entries at its top.", latency=latency)

    def listing(self) -> Listing:
        """Walk the folder without following links; links, special files and unsafe names are refused."""
        folder = self._existing_folder(listing=True)
        listing = Listing(entries=[])
        pending = [("", folder)]
        try:
            while pending:
                prefix, directory = pending.pop()
                with os.scandir(directory) as children:
                    for child in sorted(children, key=lambda c: c.name):
                        if child.name.startswith(_PARTIAL):
                            continue  # an upload being written: listed once it is renamed into place
                        shown = f"{prefix}/{child.name}" if prefix else child.name
                        try:
                            path = safe_path(shown)
                        except UnsafePath as exc:
                            listing.refused.append(RefusedName(shown, exc.reason))
                            continue
                        info = child.stat(follow_symlinks=False)
                        if stat.S_ISLNK(info.st_mode):
                            listing.refused.append(RefusedName(shown, "it is a symbolic link (links are not followed)"))
                        elif stat.S_ISDIR(info.st_mode):
                            listing.entries.append(_entry(path, info))
                            pending.append((path, Path(child.path)))
                        elif stat.S_ISREG(info.st_mode):
                            listing.entries.append(_entry(path, info))
                        else:
                            listing.refused.append(RefusedName(shown, "it is not a regular file"))
        except OSError as exc:
            raise ListingFailed(f"Could not read the folder: {exc.strerror or exc}.", permanent=False) from None
        listing.entries.sort(key=lambda entry: entry.path)
        return listing

    @contextmanager
    def download(self, path: str) -> Iterator[Iterator[bytes]]:
        """The file's bytes in chunks of 64 KiB."""
        target = self._file(path)
        try:
            handle = target.open("rb")
        except FileNotFoundError:
            raise IntegrationError(f"There is no file {path!r} in the folder.") from None
        except OSError as exc:
            raise IntegrationError(f"Could not open {path!r}: {exc.strerror or exc}.", permanent=False) from None
        with handle:
            yield iter(lambda: handle.read(CHUNK), b"")

    def upload(self, path: str, content: IO[bytes], *, size: int, content_type: str = "") -> RemoteEntry:
        """Write the file next to its place, then rename it over (readers never see half a file)."""
        target = self._file(path)
        path = safe_path(path)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            # mkdir may have met a link created meanwhile: check again where the file really lands.
            if not target.parent.resolve().is_relative_to(self.folder()):
                raise IntegrationError(f"Refusing path {path!r}: it goes through a symbolic link.")
            descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=_PARTIAL)
            try:
                with os.fdopen(descriptor, "wb") as handle:
                    shutil.copyfileobj(content, handle, CHUNK)
                os.chmod(temporary, 0o644)  # mkstemp makes it private; a library file is as readable as others
                os.replace(temporary, target)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
            return _entry(path, target.stat(follow_symlinks=False))
        except OSError as exc:
            raise IntegrationError(f"Could not write {path!r}: {exc.strerror or exc}.", permanent=False) from None

    def delete(self, path: str) -> None:
        """Remove the file (a folder with what it holds); one already gone is fine."""
        target = self._file(path)
        try:
            if target.is_dir():
                shutil.rmtree(target)  # never follows the links it meets
            else:
                target.unlink(missing_ok=True)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise IntegrationError(f"Could not delete {path!r}: {exc.strerror or exc}.", permanent=False) from None
