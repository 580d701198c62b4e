"""factory_boy factories for libraries and their files."""

from __future__ import annotations

from typing import Any

import factory
import numpy as np
from django.contrib.auth.models import Permission

from informer import secrets
from library.integrations.base import IntegrationConfig
from library.models import LIBRARY_PERMISSIONS, Chunk, Library, LibraryFile, LibraryUserObjectPermission
from library.vectors import vector_bytes
from tests.factories import UserFactory


def grant_library(library: Library, user: Any, codenames: tuple[str, ...] | list[str] = LIBRARY_PERMISSIONS) -> None:
    """Give ``user`` the library permissions ``codenames`` on ``library`` (guardian rows, as shares write)."""
    permissions = Permission.objects.filter(content_type__app_label="library", codename__in=codenames)
    LibraryUserObjectPermission.objects.bulk_create(
        [
            LibraryUserObjectPermission(user=user, permission=permission, content_object=library)
            for permission in permissions
        ]
    )


class LibraryFactory(factory.django.DjangoModelFactory):
    """A local library (folder ``settings.path`` under INFORMER_LIBRARY_ROOT, not created) owned by ``owner``
    with the owner's five rights."""

    class Meta:
        model = Library
        skip_postgeneration_save = True

    owner = factory.SubFactory(UserFactory)
    tenant = factory.LazyAttribute(lambda o: o.owner.tenant)
    name = factory.Sequence(lambda n: f"Library {n:04d}")
    slug = factory.Sequence(lambda n: f"library-{n:04d}")
    type = "local"
    settings = factory.LazyAttribute(lambda o: {"path": o.slug})

    @factory.post_generation
    def grant_owner(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create and self.owner is not None and extracted is not False:
            grant_library(self, self.owner)


def library_from_config(config: IntegrationConfig, **fields: Any) -> Library:
    """A library holding ``config`` (a server fixture's settings), its secrets sealed as the service stores them."""
    library: Library = LibraryFactory(
        type=config.type,
        settings=dict(config.settings),
        secrets_encrypted=secrets.seal_json(dict(config.secrets)),
        **fields,
    )
    return library


class LibraryFileFactory(factory.django.DjangoModelFactory):
    """A file row at the top of a library (no stored content unless ``sha256`` names one)."""

    class Meta:
        model = LibraryFile

    library = factory.SubFactory(LibraryFactory)
    path = factory.Sequence(lambda n: f"file-{n:04d}.txt")
    filename = factory.LazyAttribute(lambda o: o.path.rpartition("/")[2])
    content_type = "text/plain"


class ChunkFactory(factory.django.DjangoModelFactory):
    """A chunk of a file (its library's), with a random unit vector of 384 float32 unless ``vector`` is given."""

    class Meta:
        model = Chunk

    file = factory.SubFactory(LibraryFileFactory)
    library = factory.LazyAttribute(lambda o: o.file.library)
    ordinal = factory.Sequence(lambda n: n)
    text = factory.Sequence(lambda n: f"Passage {n}.")
    end = factory.LazyAttribute(lambda o: len(o.text))
    vector = factory.Sequence(lambda n: vector_bytes(_unit_vector(np.random.default_rng(n))))


def _unit_vector(rng: np.random.Generator, dimensions: int = 384) -> np.ndarray:
    vector = rng.standard_normal(dimensions).astype(np.float32)
    return vector / np.linalg.norm(vector)
