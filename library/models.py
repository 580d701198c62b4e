"""Libraries, their files and the stored contents behind them (§9).

A library mirrors a folder of documents from an integration (a local folder, a WebDAV server, an S3
bucket). Each file (and each folder, ``directory``) of it is a ``LibraryFile`` row keyed by its path; the
bytes live once per distinct sha256 as a ``StoredContent`` in Django's ``default_storage``, so identical
files, in one library or across several, are stored once.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone as django_timezone
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase
from pgvector.django import VectorField

from informer.models import Tenant


class LibraryType(models.TextChoices):
    LOCAL = "local", "Local folder"
    WEBDAV = "webdav", "WebDAV"
    S3 = "s3", "S3"


LIBRARY_PERMISSIONS = ("view_library", "change_library", "sync_library", "delete_library", "share_library")


class Library(models.Model):
    """A folder of documents mirrored from an integration."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="libraries", db_index=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="owned_libraries"
    )
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, db_index=False)  # library_unique_slug
    description = models.TextField(blank=True)
    type = models.CharField(max_length=20, choices=LibraryType.choices)
    # The integration's plain settings (local: path; webdav: url, username, root; s3: bucket, prefix,
    # region, endpointUrl, accessKeyId); its secrets (password, secretAccessKey) sealed below.
    settings = models.JSONField(default=dict, blank=True)
    secrets_encrypted = models.TextField(blank=True, editable=False)
    embedded = models.BooleanField(default=False, help_text="Index the files for search after each sync.")
    files = models.PositiveIntegerField(default=0, editable=False)  # files, not folders
    size = models.PositiveBigIntegerField(default=0, editable=False)  # bytes of those files
    synced_at = models.DateTimeField(null=True, blank=True, editable=False)
    indexed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # One sync at a time: set by a conditional UPDATE only one caller can win (services.sync).
    sync_started_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The search index (library.services.index): one indexing at a time, claimed as a sync is; the
    # embedder whose vectors the chunks hold (another embedder means indexing everything again); and a
    # counter raised on every change to the chunks, which tells in-process vector caches they are stale.
    index_started_at = models.DateTimeField(null=True, blank=True, editable=False)
    index_model = models.CharField(max_length=200, blank=True, editable=False)
    index_version = models.PositiveBigIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(default=django_timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "libraries"
        permissions = [("sync_library", "Can sync library"), ("share_library", "Can share library")]
        constraints = [models.UniqueConstraint(fields=["tenant", "slug"], name="library_unique_slug")]
        indexes = [models.Index(fields=["tenant", "name"], name="library_tenant_name_idx")]

    def __str__(self) -> str:
        return self.name

    @property
    def natural_id(self) -> str:
        return f"{self.tenant.slug}:{self.slug}"

    @property
    def syncing(self) -> bool:
        return self.sync_started_at is not None


class LibraryUserObjectPermission(UserObjectPermissionBase):
    """Direct foreign-key table for user permissions on libraries."""

    content_object = models.ForeignKey(Library, on_delete=models.CASCADE)

    class Meta(UserObjectPermissionBase.Meta):
        pass


class LibraryGroupObjectPermission(GroupObjectPermissionBase):
    """Direct foreign-key table for group (team) permissions on libraries."""

    content_object = models.ForeignKey(Library, on_delete=models.CASCADE)

    class Meta(GroupObjectPermissionBase.Meta):
        pass


class StoredContent(models.Model):
    """The bytes of one distinct file content, stored once in ``default_storage`` under its sha256."""

    sha256 = models.CharField(max_length=64, primary_key=True)
    size = models.PositiveBigIntegerField()
    storage_name = models.CharField(max_length=300)  # the name default_storage gave it
    created_at = models.DateTimeField(default=django_timezone.now, editable=False)

    def __str__(self) -> str:
        return self.sha256


class FileOrigin(models.TextChoices):
    SYNC = "sync"
    UPLOAD = "upload"
    JOB = "job"


class IndexStatus(models.TextChoices):
    PENDING = "pending"
    INDEXED = "indexed"
    NO_TEXT = "no_text"
    ERROR = "error"
    SKIPPED = "skipped"


class LibraryFile(models.Model):
    """A file or folder of a library at its path (``a/b/report.pdf``), as last seen on the integration."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    library = models.ForeignKey(Library, on_delete=models.CASCADE, related_name="file_set", db_index=False)
    path = models.CharField(max_length=1024)  # relative, "/"-separated, no leading "/"; unique in the library
    filename = models.CharField(max_length=255)
    parent = models.ForeignKey("self", on_delete=models.CASCADE, null=True, blank=True, related_name="children")
    directory = models.BooleanField(default=False)
    content_type = models.CharField(max_length=200, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    # What the integration said of it at the last listing: the change detectors of an incremental sync.
    etag = models.CharField(max_length=200, blank=True)
    modified_at = models.DateTimeField(null=True, blank=True)
    # What was stored: the content's sha256 (StoredContent), empty for folders and skipped files.
    sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    origin = models.CharField(max_length=10, choices=FileOrigin.choices, default=FileOrigin.SYNC)
    index_status = models.CharField(max_length=10, choices=IndexStatus.choices, default=IndexStatus.PENDING)
    index_error = models.TextField(blank=True)
    indexed_at = models.DateTimeField(null=True, blank=True)
    chunks = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=django_timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["library", "path"]
        constraints = [models.UniqueConstraint(fields=["library", "path"], name="libraryfile_unique_path")]

    def __str__(self) -> str:
        return self.path


class Chunk(models.Model):
    """A passage of a file's extracted text, with its embedding (§9 "Index").

    ``vector`` is the embedding as little-endian float32 bytes (``numpy.frombuffer``), the source of the
    exact search and of the pgvector copy (``ChunkVector``) where that extension is present. ``page`` is
    the PDF page (from 1), else null; ``start``/``end`` are character offsets into that page's text (the
    whole text's for other formats). ``library`` repeats the file's, so a search filters by library
    without a join.
    """

    id = models.BigAutoField(primary_key=True)
    library = models.ForeignKey(Library, on_delete=models.CASCADE, related_name="chunk_set", db_index=False)
    file = models.ForeignKey(LibraryFile, on_delete=models.CASCADE, related_name="chunk_set", db_index=False)
    ordinal = models.PositiveIntegerField()  # from 0, in reading order within the file
    page = models.PositiveIntegerField(null=True, blank=True)
    start = models.PositiveIntegerField(default=0)
    end = models.PositiveIntegerField(default=0)
    text = models.TextField()
    vector = models.BinaryField()

    class Meta:
        ordering = ["file", "ordinal"]
        constraints = [models.UniqueConstraint(fields=["file", "ordinal"], name="chunk_unique_ordinal")]
        indexes = [models.Index(fields=["library", "file"], name="chunk_library_file_idx")]

    def __str__(self) -> str:
        return f"{self.file_id}#{self.ordinal}"


class ChunkVector(models.Model):
    """The pgvector copy of a chunk's embedding: ``vector(384)`` with an HNSW cosine index.

    Not managed by migrations: the table exists only on PostgreSQL with the ``vector`` extension, made by
    ``library.vectors.ensure_pgvector`` (after every ``migrate``); elsewhere search is exact (numpy).
    """

    # The table's own foreign key cascades (ensure_pgvector makes it); Django must not, as the table may be absent.
    chunk = models.OneToOneField(Chunk, on_delete=models.DO_NOTHING, primary_key=True, db_constraint=False)
    library_id = models.UUIDField()
    embedding = VectorField(dimensions=384)

    class Meta:
        managed = False
        db_table = "library_chunkvector"

    def __str__(self) -> str:
        return f"vector of chunk {self.chunk_id}"
