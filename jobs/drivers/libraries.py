"""The library drivers (§9): the ``library-sync`` and ``index-files`` job types and the ``library`` action.

They name a library by its id or natural id (``<tenant-slug>:<slug>``) in the job's tenant. Rights are
checked twice. When a job or action is saved, for the one saving it: a library they may not read gets the
same 400 as one that does not exist, so the answer does not tell them apart. When the step runs, for the
job's owner, whose rights the run acts with: they may have lost them since, and a lost right fails the
step (permanently), naming the library.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from informer.api.exceptions import DomainError
from jobs import rendering
from jobs.drivers.base import (
    ActionDriver,
    AttachmentFile,
    JobTypeDriver,
    ProgressEntry,
    RunContext,
    StepFailed,
    StepResult,
)
from jobs.drivers.datasets import checked_data, job_of, owner_of

if TYPE_CHECKING:
    from library.models import Library, LibraryFile
    from library.services.index import IndexProgress, IndexResult
    from library.services.sync import SyncProgress, SyncResult

LIBRARY_REFERENCE = {
    "type": "string",
    "minLength": 1,
    "maxLength": 200,
    "description": "The library's id (a UUID) or natural id (<tenant-slug>:<slug>), in the job's tenant.",
}

# What a step needs of a library, and how messages name that right.
SYNC = "sync_library"
CHANGE = "change_library"
# Indexing refreshes what a library holds, as a sync does: the same right, named for what the job does.
INDEX = "index"
_CODENAMES = {SYNC: SYNC, INDEX: SYNC, CHANGE: CHANGE}
_RIGHTS = {
    SYNC: ("sync", "the 'library:sync' permission (sync_library)"),
    INDEX: ("index", "the 'library:sync' permission (sync_library)"),
    CHANGE: ("write files into", "the 'library:edit' permission (change_library)"),
}


# --- Finding a library, and the rights on it ----------------------------------------------------------------


def _codenames(user: Any, library: Library) -> set[str]:
    """The permission codenames ``user`` holds on ``library`` (none across tenants, none for nobody)."""
    from library.selectors import library_permissions_for_user

    if user is None or not user.is_active:
        return set()
    # Rights never reach across tenants, superusers excepted (§3).
    if not user.is_superuser and library.tenant_id != user.tenant_id:
        return set()
    return set(library_permissions_for_user(user, [library.pk]).get(library.pk, set()))


def _find(tenant_id: int, key: str) -> Library | None:
    from library.models import Library
    from library.selectors import library_lookup

    return library_lookup(Library.objects.select_related("tenant").filter(tenant_id=tenant_id), key)


def label(library: Library) -> str:
    """How messages name a library."""
    return f"library '{library.name}'"


def reference_errors(
    data: Mapping[str, Any], *, user: Any, tenant_id: int, need: str, current: Mapping[str, Any] | None
) -> list[str]:
    """Why ``user`` may not save ``data.library`` (read it, and hold ``need`` on it), as ``data.library: …``.

    A reference that the stored data (``current``) already held was checked when that was saved: keeping
    it (an editor renaming the job, a full PUT sending it back) is not checked again; the run checks the
    owner's rights anyway.
    """
    key = data.get("library")
    if not isinstance(key, str) or (current is not None and current.get("library") == key):
        return []
    library = _find(tenant_id, key)
    held = _codenames(user, library) if library is not None else set()
    if library is None or "view_library" not in held:
        return [f"data.library: there is no library '{key[:80]}' that you can read."]
    if _CODENAMES[need] not in held:
        verb, right = _RIGHTS[need]
        return [f"data.library: you need {right} on {label(library)} for a job to {verb} it."]
    return []


def library_for(context: RunContext, key: str, *, need: str) -> Library:
    """The library ``key`` names in the job's tenant, once the job's owner is seen to hold ``need`` on it;
    else the step fails (permanently), naming it."""
    job = job_of(context)
    library = _find(job.tenant_id, key)
    if library is None:
        raise StepFailed(f"Library '{key}' is not a library of the job's tenant.", permanent=True)
    owner = owner_of(job)
    held = _codenames(owner, library)
    if "view_library" not in held:
        # Named as the job names it: the library's own name is for those who may read it.
        raise StepFailed(
            f"The job's owner {owner.display_name} may no longer read library '{key}'; share it with them "
            "again or change the job.",
            permanent=True,
        )
    if _CODENAMES[need] not in held:
        verb, right = _RIGHTS[need]
        raise StepFailed(
            f"The job's owner {owner.display_name} may no longer {verb} {label(library)} ({key}): it needs {right}.",
            permanent=True,
        )
    return library


# --- What the library job types share -----------------------------------------------------------------------


def _job_schema(option: str, description: str) -> dict[str, Any]:
    """A library job type's data: the library, and one boolean ``option`` (false unless set)."""
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["library"],
        "properties": {
            "library": LIBRARY_REFERENCE,
            option: {"type": "boolean", "default": False, "description": description},
        },
    }


class _LibraryJob(JobTypeDriver):
    """A job type whose data names a library on which the job's owner (and the one saving it) holds ``need``."""

    need: ClassVar[str]

    @classmethod
    def reference_errors(
        cls, data: dict[str, Any], *, user: Any, tenant_id: int, current: dict[str, Any] | None = None
    ) -> list[str]:
        """The one saving the job must hold the job type's right (``need``) on the library."""
        return reference_errors(data, user=user, tenant_id=tenant_id, need=cls.need, current=current)

    @classmethod
    def job_library(cls, context: RunContext) -> tuple[dict[str, Any], str, Library]:
        """The job's checked data, the library as it names it, and that library (its owner's rights seen)."""
        data = checked_data(cls, context.job.get("data") or {}, what="The job's data")
        key = data["library"]
        return data, key, library_for(context, key, need=cls.need)

    @staticmethod
    def kept(library: Library, key: str, counts: dict[str, Any]) -> dict[str, Any]:
        """What the run keeps of the step: the library as the job names it, its id and name, and ``counts``."""
        return {"library": key, "libraryId": str(library.pk), "name": library.name, **counts}


# --- library-sync -------------------------------------------------------------------------------------------


def _mib(size: int) -> str:
    return f"{size / 1_048_576:.1f} MiB"


def library_errors(result: SyncResult) -> list[str]:
    """The errors about the library as a whole (a failed listing, refused deletions), not one file's."""
    return [error["error"] for error in result.errors if not error.get("path")]


def _sentence(text: str) -> str:
    return text if text.endswith((".", "!", "?")) else f"{text}."


def synced_message(library: Library, result: SyncResult) -> str:
    """A sync's result in a sentence or two: why it failed, each count, the bytes, the time, the files' errors."""
    counts = (
        f"{result.added} added, {result.updated} updated, {result.deleted} deleted, {result.unchanged} unchanged, "
        f"{result.skipped} skipped; {_mib(result.bytes)} fetched in {result.duration / 1000:.1f} s."
    )
    whole = library_errors(result)
    if whole:
        message = f"Syncing {label(library)} failed: {' '.join(_sentence(text) for text in whole)} Counts: {counts}"
    else:
        message = f"Synced {label(library)}: {counts}"
    files = [error for error in result.errors if error.get("path")]
    if files:
        first = files[0]
        more = f" (and {len(files) - 1} more)" if len(files) > 1 else ""
        message += f" {len(files)} file(s) with errors, first {first['path']}: {_sentence(first['error'])}{more}"
    return message


def _progress_message(progress: SyncProgress) -> str:
    return f"{progress.files_done:,} of {progress.files_total:,} file(s), {_mib(progress.bytes_done)} fetched so far."


def sync(context: RunContext, library: Library, *, allow_mass_delete: bool, entry: ProgressEntry) -> SyncResult:
    """Sync ``library``; ``entry`` follows the files and bytes as they go. Failures become the step's, naming it."""
    # The remote's failures (a listing that failed, a download) are in the result, not raised.
    from library.services.sync import SyncCancelled, SyncInProgress, library_sync

    def progress(state: SyncProgress) -> None:
        entry.update(_progress_message(state), files=state.files_done, total=state.files_total, bytes=state.bytes_done)

    try:
        return library_sync(
            library=library, allow_mass_delete=allow_mass_delete, progress=progress, cancelled=context.should_stop
        )
    except SyncInProgress as error:
        # Someone else's sync of the same library is under way; a retry later may find it free.
        raise StepFailed(f"Syncing {label(library)} failed: {error.message}") from None
    except SyncCancelled as error:  # the run is stopping (cancelled, timed out): the executor says which
        raise StepFailed(f"Syncing {label(library)} stopped: {error.message}", data=error.result.as_json()) from None
    except DomainError as error:  # the library was deleted meanwhile
        raise StepFailed(f"Syncing {label(library)} failed: {error.message}", permanent=True) from None


class LibrarySyncJob(_LibraryJob):
    """Mirrors a library from its integration, with a progress entry following the files and bytes."""

    id = "library-sync"
    name = "Library sync"
    description = (
        "Mirrors a library from its integration (a local folder, WebDAV, S3): new and changed files fetched, "
        "removed ones deleted, unchanged ones left alone, then runs the actions. Its progress entry counts the "
        "files and bytes as they go. Nothing is deleted after a listing that failed, nor more than half the "
        "library's files at once unless allowMassDelete; either fails the step. Files that could not be "
        "fetched keep their previous copy and make the step a warning. An embedded library is then indexed "
        "(its new and changed files), under a progress entry of its own. The job's owner needs sync_library."
    )
    schema = _job_schema("allowMassDelete", "Let one sync delete more than half of the library's files.")
    need = SYNC

    @classmethod
    def execute(cls, context: RunContext) -> StepResult:
        """Sync the library; refused deletions and a failed listing fail the step, file errors warn."""
        data, key, library = cls.job_library(context)
        entry = context.progress.begin(
            f"sync:{key}", f"Sync {library.name}", "Starting.", libraryId=str(library.pk), files=0, total=0, bytes=0
        )
        try:
            result = sync(context, library, allow_mass_delete=bool(data.get("allowMassDelete", False)), entry=entry)
        except StepFailed as failure:
            entry.end("error", failure.message)
            raise
        counts = result.as_json()  # the §9 answer
        message = synced_message(library, result)
        kept = cls.kept(library, key, counts)
        shown = {name: counts[name] for name in ("added", "updated", "deleted", "unchanged", "skipped", "bytes")}
        whole = library_errors(result)
        if whole:
            # The library as a whole (a listing that failed, deletions refused as too many at once): the
            # mirror is not what the remote holds, and the step fails. A retry can help a listing cut short;
            # refused deletions wait for someone to allow them.
            entry.end("error", message, **shown)
            raise StepFailed(message, permanent=result.mass_delete_refused, data=kept, entry=shown)
        # Files that could not be fetched (their previous copy kept) or names refused: the rest is synced.
        status = "warning" if result.errors else "success"
        entry.end(status, message, **shown)
        warning = bool(result.errors)
        if library.embedded:
            # An embedded library is indexed after every sync that did not fail as a whole: its new and
            # changed files only. Indexing that cannot run (another one holds the library) fails the step
            # for a retry, which finds the files synced and indexes them then.
            indexed, index_warning = index_step(context, library, key, force=False, kept=kept)
            kept["index"] = indexed.to_dict()
            message = f"{message} {indexed_message(library, indexed)}"
            warning = warning or index_warning
        return StepResult(message=message, warning=warning, data=kept, entry=shown)


# --- index-files --------------------------------------------------------------------------------------------


def indexed_message(library: Library, result: IndexResult) -> str:
    """An indexing's result in a sentence or two: each count, the chunks, the time, the first file's error."""
    message = (
        f"Indexed {label(library)}: {result.indexed} indexed, {result.unchanged} unchanged, {result.no_text} "
        f"without text, {result.skipped} skipped, {len(result.errors)} with errors; {result.chunks} chunk(s) "
        f"stored in {result.duration:.1f} s."
    )
    if result.errors:
        first = result.errors[0]
        more = f" (and {len(result.errors) - 1} more)" if len(result.errors) > 1 else ""
        message += f" First error, {first['path'] or library.name}: {_sentence(first['error'])}{more}"
    return message


def _index_progress_message(progress: IndexProgress) -> str:
    return f"{progress.files_done:,} of {progress.files_total:,} file(s), {progress.chunks:,} chunk(s) so far."


def index(context: RunContext, library: Library, *, force: bool, entry: ProgressEntry) -> IndexResult:
    """Index ``library``; ``entry`` follows the files and chunks as they go. Failures become the step's."""
    from library.services.index import IndexBusy, IndexCancelled, library_index

    def progress(state: IndexProgress) -> None:
        entry.update(
            _index_progress_message(state), files=state.files_done, total=state.files_total, chunks=state.chunks
        )

    try:
        return library_index(library, force=force, progress=progress, cancelled=context.should_stop)
    except IndexBusy as error:
        # Another indexing of the same library is under way; a retry later may find it free.
        raise StepFailed(f"Indexing {label(library)} failed: {error.message}") from None
    except IndexCancelled as error:  # the run is stopping (cancelled, timed out): the executor says which
        raise StepFailed(
            f"Indexing {label(library)} stopped: {error.message}", data={"index": error.result.to_dict()}
        ) from None
    except DomainError as error:  # the library was deleted meanwhile
        raise StepFailed(f"Indexing {label(library)} failed: {error.message}", permanent=True) from None


_INDEX_SHOWN = ("indexed", "unchanged", "noText", "skipped", "chunks")


def index_step(
    context: RunContext, library: Library, key: str, *, force: bool, kept: dict[str, Any] | None = None
) -> tuple[IndexResult, bool]:
    """Index ``library`` under a progress entry of its own (``Index <name>``); the result and whether it warns.

    Files that failed (their reason in ``errors``) make a warning: the others are indexed. ``kept`` is what
    the step keeps should the indexing fail (a sync's counts before it).
    """
    entry = context.progress.begin(
        f"index:{key}", f"Index {library.name}", "Starting.", libraryId=str(library.pk), files=0, total=0, chunks=0
    )
    try:
        result = index(context, library, force=force, entry=entry)
    except StepFailed as failure:
        entry.end("error", failure.message)
        if kept is not None:
            failure.data = {**kept, **failure.data}
        raise
    counts = result.to_dict()
    shown = {name: counts[name] for name in _INDEX_SHOWN}
    entry.end("warning" if result.errors else "success", indexed_message(library, result), **shown)
    return result, bool(result.errors)


class IndexFilesJob(_LibraryJob):
    """Extracts text from a library's new or changed files and indexes it for search, with a progress entry."""

    id = "index-files"
    name = "Index files"
    description = (
        "Indexes a library for search: the text of its new and changed files (txt, md, csv, html, pdf, docx) "
        "extracted, cut into chunks and embedded; unchanged files are not read again, and force indexes every "
        "file again. Then runs the actions. Its progress entry counts the files and chunks as they go. A file "
        "with no text, of a format that is not indexed or whose extraction fails is reported with the reason and "
        "makes the step a warning; the other files are indexed. The job's owner needs sync_library."
    )
    schema = _job_schema("force", "Index every file again, not only the new and changed ones.")
    need = INDEX  # refreshing the library's contents: sync_library

    @classmethod
    def execute(cls, context: RunContext) -> StepResult:
        """Index the library; an indexing already running fails the step for a retry, file errors warn."""
        data, key, library = cls.job_library(context)
        result, warning = index_step(context, library, key, force=bool(data.get("force", False)))
        counts = result.to_dict()
        kept = cls.kept(library, key, counts)
        shown = {name: counts[name] for name in _INDEX_SHOWN}
        return StepResult(message=indexed_message(library, result), warning=warning, data=kept, entry=shown)


# --- The library action -------------------------------------------------------------------------------------


def _clean_folder(path: str) -> str:
    """``path`` as a folder of a library ("" for its top), or ``UnsafePath`` saying why it cannot be one."""
    from library.integrations.paths import safe_path

    # "/reports/" means the folder reports: the slashes around it name nothing.
    cleaned = path.strip().strip("/")
    return safe_path(cleaned) if cleaned else ""


def _folder_errors(path: str) -> list[str]:
    """Why a folder path (not a template) cannot be one of a library's, else nothing."""
    from library.integrations.paths import UnsafePath

    try:
        _clean_folder(path)
    except UnsafePath as error:
        return [f"data.path: '{path[:80]}' cannot be a library's folder: {error.reason}."]
    return []


def _folder(context: RunContext, action: dict[str, Any], data: dict[str, Any]) -> str:
    """The folder the files go into, rendered and checked ("" for the library's top)."""
    from library.integrations.paths import UnsafePath

    raw = data.get("path") or ""
    path = rendering.render(raw, context, what="path") if _is_template(raw) else raw
    try:
        return _clean_folder(path)
    except UnsafePath as error:
        raise StepFailed(
            f"Action '{action['name']}': '{path[:80]}' cannot be a library's folder: {error.reason}.", permanent=True
        ) from None


def _is_template(text: str) -> bool:
    return "{{" in text or "{%" in text


def _file_path(folder: str, file: AttachmentFile) -> str:
    # An attachment's name is one file's name: a slash in it does not make a folder.
    name = file.name.replace("/", "-").replace("\\", "-")
    return f"{folder}/{name}" if folder else name


def _written(file: LibraryFile) -> dict[str, Any]:
    return {"id": str(file.pk), "path": file.path, "size": file.size, "sha256": file.sha256}


class LibraryAction(ActionDriver):
    """Write the action's attachments as files into a folder of a library."""

    id = "library"
    name = "Library update"
    description = (
        "Writes the action's attachments (uploaded files, dataset exports, reports, made as the email action "
        "makes them) as files into a folder of a library, through to its integration (origin job; a later sync "
        "keeps them while the remote has them). path is the folder (empty for the top; a template over the run "
        "context). With overwrite false, a name already taken gets a number (name (1).ext) instead of replacing "
        "the file. The job's owner needs change_library."
    )
    schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["library"],
        "properties": {
            "library": LIBRARY_REFERENCE,
            "path": {
                "type": "string",
                "maxLength": 1024,
                "default": "",
                "description": "The folder, '/'-separated, relative to the library's top. " + rendering.CONTEXT_HELP,
            },
            "overwrite": {"type": "boolean", "default": False},
        },
    }

    @classmethod
    def extra_errors(cls, data: dict[str, Any]) -> list[str]:
        """The folder's syntax: a template must compile, a plain path must stay inside the library."""
        path = data.get("path") or ""
        if _is_template(path):
            problem = rendering.check_template(path)
            return [f"data.path: not a valid template: {problem}"] if problem else []
        return _folder_errors(path)

    @classmethod
    def reference_errors(
        cls, data: dict[str, Any], *, user: Any, tenant_id: int, current: dict[str, Any] | None = None
    ) -> list[str]:
        """The one saving the action must be able to write into the library."""
        return reference_errors(data, user=user, tenant_id=tenant_id, need=CHANGE, current=current)

    @classmethod
    def preview(cls, context: RunContext, action: dict[str, Any]) -> dict[str, Any]:
        """The library, the folder and each file a run would write now (made as a run would), writing nothing."""
        from jobs.drivers.actions import attachment_preview
        from library.models import LibraryFile

        data = checked_data(cls, action.get("data") or {}, what=f"Action '{action['name']}'")
        library = library_for(context, data["library"], need=CHANGE)
        folder = _folder(context, action, data)
        files = []
        for attachment in action.get("attachments", []):
            entry = attachment_preview(context, attachment)
            path = _file_path(folder, AttachmentFile(name=entry["name"], content_type="", content=b""))
            entry.update(path=path, exists=LibraryFile.objects.filter(library=library, path=path).exists())
            files.append(entry)
        return {
            "libraryId": str(library.pk),
            "name": library.name,
            "path": folder,
            "overwrite": bool(data.get("overwrite", False)),
            "files": files,
        }

    @classmethod
    def execute(cls, context: RunContext, action: dict[str, Any]) -> StepResult:
        """Make the attachments and write each into the folder; the message lists the paths written."""
        from jobs.drivers.actions import materialize_attachments
        from library.services.files import RemoteWriteFailed, file_write

        data = checked_data(cls, action.get("data") or {}, what=f"Action '{action['name']}'")
        library = library_for(context, data["library"], need=CHANGE)
        folder = _folder(context, action, data)
        files = materialize_attachments(context, action)
        if not files:
            return StepResult(message=f"Nothing to write into {label(library)}: the action has no attachments.")
        written: list[dict[str, Any]] = []
        for file in files:
            path = _file_path(folder, file)
            try:
                stored = file_write(
                    library=library, path=path, content=file.content, overwrite=bool(data.get("overwrite", False))
                )
            except DomainError as error:
                # The remote failing may pass; a file over the size limit, a folder in the way or a refused
                # name will not.
                permanent = not isinstance(error, RemoteWriteFailed)
                message = _failed(library, path, error.message, written)
                raise StepFailed(message, permanent=permanent, data=_kept(library, written)) from None
            written.append(_written(stored))
        paths = ", ".join(item["path"] for item in written)
        return StepResult(
            message=f"Wrote {len(written)} file(s) into {label(library)}: {paths}.",
            data=_kept(library, written),
        )


def _kept(library: Library, written: list[dict[str, Any]]) -> dict[str, Any]:
    """What the run keeps of a write: the library and every file written, with its path, size and sha256."""
    return {"libraryId": str(library.pk), "files": written}


def _failed(library: Library, path: str, reason: str, written: list[dict[str, Any]]) -> str:
    message = f"Writing '{path}' into {label(library)} failed: {_sentence(reason)}"
    if written:
        message += f" Written before it: {', '.join(item['path'] for item in written)}."
    return message
