"""The library admin's world: a tenant's local library over a real folder, a WebDAV one with a password, staff.

``granted`` is a staff user of the tenant holding the library app's model permissions and admin access
(level 3) to both libraries; ``plain`` holds the same model permissions and no share; ``stranger`` is a
staff user of another tenant with the same model permissions, whose own library (with a file) is there too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from informer import secrets
from informer.models import Tenant, User
from library.models import Library, LibraryFile
from library.services import shares as share_services
from tests.factories import TenantFactory, UserFactory
from tests.informer.admin.pages import model_permissions, staff
from tests.library.factories import LibraryFactory, LibraryFileFactory

SECRET = "s3cret-DavPa55word!"
LIBRARY_GRANTS = [*model_permissions("library", "library", "libraryfile"), "library.sync_library"]
# The local library's folder: two documents, one in a sub-folder.
DOCUMENTS = {"readme.txt": b"Hello, library.\n", "guides/setup.md": b"# Setup\n\nPlug it in.\n"}


@dataclass
class World:
    tenant: Tenant
    folder: Path
    library: Library
    dav: Library
    other_library: Library
    other_file: LibraryFile
    users: dict[str, User]


@pytest.fixture
def world(tenant: Tenant, local_library_root: Path, media: Path) -> World:
    folder = local_library_root / "docs"
    for name, content in DOCUMENTS.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)
    owner = UserFactory(username="owner", tenant=tenant)
    library = LibraryFactory(owner=owner, name="Documents", slug="documents", settings={"path": "docs"})
    dav = LibraryFactory(
        owner=owner,
        name="Shared drive",
        slug="shared-drive",
        type="webdav",
        settings={"url": "http://127.0.0.1:9/dav/", "username": "ann", "root": ""},
        secrets_encrypted=secrets.seal_json({"password": SECRET}),
    )
    beta = TenantFactory(slug="beta")
    other_owner = UserFactory(username="other-owner", tenant=beta)
    other_library = LibraryFactory(owner=other_owner, name="Their library", slug="theirs", settings={"path": "theirs"})
    other_file = LibraryFileFactory(library=other_library, path="their-notes.txt")
    users = {
        "superuser": UserFactory(username="root", tenant=TenantFactory(slug="ops"), is_staff=True, is_superuser=True),
        "granted": staff(tenant, *LIBRARY_GRANTS, username="granted"),
        "plain": staff(tenant, *LIBRARY_GRANTS, username="plain"),
        "stranger": staff(beta, *LIBRARY_GRANTS, username="stranger"),
    }
    for shared in (library, dav):
        share_services.share_set(library=shared, principal=users["granted"], level=3)
    return World(tenant, folder, library, dav, other_library, other_file, users)


def fresh(obj: Any) -> Any:
    return type(obj).objects.get(pk=obj.pk)
