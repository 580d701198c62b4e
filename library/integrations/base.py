"""What every library integration offers: list the remote, stream a file down, write one up, delete one.

An integration is built from an ``IntegrationConfig`` (a library's settings with its secrets opened) and
never touches the ORM. Paths are relative, "/"-separated and checked (``safe_path``) before use: a remote
name that tries to leave the library is refused, never written. Errors are ``IntegrationError`` with a
reason a user can act on; ``permanent`` says whether trying again could help.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any, ClassVar


class IntegrationError(Exception):
    """The remote refused, failed or could not be reached; ``field`` names the setting at fault, if one is."""

    def __init__(self, message: str, *, field: str | None = None, permanent: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.permanent = permanent


class ListingFailed(IntegrationError):
    """The listing failed or was cut short: a sync that got one must delete nothing."""


@dataclass(frozen=True)
class IntegrationConfig:
    """A library's settings with its secrets in the clear (never logged, never stored so)."""

    type: str
    settings: dict[str, Any] = field(default_factory=dict)
    secrets: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class RemoteEntry:
    """One file (or folder) as the remote lists it; what an incremental sync compares."""

    path: str  # relative, "/"-separated, checked
    size: int
    modified_at: datetime | None  # aware UTC
    etag: str  # the remote's change marker ("" when it has none)
    directory: bool = False
    content_type: str = ""


@dataclass(frozen=True)
class RefusedName:
    """A remote name that was not listed because it would escape the library, with why."""

    name: str
    reason: str


@dataclass
class Listing:
    """A complete listing: every entry, and the names refused (reported by the sync, never written)."""

    entries: list[RemoteEntry]
    refused: list[RefusedName] = field(default_factory=list)


@dataclass(frozen=True)
class TestResult:
    """The answer of ``POST /api/libraries/{id}/_test``: success false carries the reason."""

    success: bool
    message: str
    latency: float | None = None  # milliseconds


class Integration(ABC):
    """One kind of remote (``local``, ``webdav``, ``s3``)."""

    type: ClassVar[str]
    name: ClassVar[str]
    available: ClassVar[bool] = True
    # JSON Schema of the library's ``settings`` for this type; secrets are marked "writeOnly": true.
    settings_schema: ClassVar[dict[str, Any]]

    def __init__(self, config: IntegrationConfig) -> None:
        self.config = config

    @abstractmethod
    def validate(self) -> None:
        """Refuse settings the safety rules forbid (``IntegrationError`` naming the field)."""

    @abstractmethod
    def test(self) -> TestResult:
        """Reach the remote and list its root; a failure is ``success: False`` with the reason, never raised."""

    @abstractmethod
    def listing(self) -> Listing:
        """Every file and folder under the library's root, or ``ListingFailed`` (never a partial listing)."""

    @abstractmethod
    def download(self, path: str) -> AbstractContextManager[Iterator[bytes]]:
        """The file's bytes as they stream from the remote, in chunks (never the whole file in memory)."""

    @abstractmethod
    def upload(self, path: str, content: IO[bytes], *, size: int, content_type: str = "") -> RemoteEntry:
        """Write ``content`` at ``path`` (creating folders), replacing what is there; the entry as now listed."""

    @abstractmethod
    def delete(self, path: str) -> None:
        """Remove the file at ``path``; one already gone is not an error."""

    def close(self) -> None:  # noqa: B027 - most integrations hold nothing to release
        """Release what the integration keeps open between calls (a connection); dropping it does too."""
