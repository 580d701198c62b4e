"""Benchmark: search — the model, indexing throughput, vector search latency and recall (§9).

Phases (``--phases``, in this order, each optional):

* ``model``: the embedder's first load in this process (``get_embedder()``: onnxruntime and tokenizers
  imported, the int8 ONNX file and the tokenizer read), its time and RSS growth, the first ``embed``
  call apart; then embedding throughput by batch size (8, 32, 64) on chunk-sized texts (40 to 200
  wordpieces) sorted by length, as indexing sorts them, texts/s and wordpieces/s, and the ratio to 32
  (the default). The same 32 unsorted, for what padding costs.
* ``index``: a corpus of ``--documents`` files (``bench/_corpus.py``: txt, md, csv, html, pdf by
  WeasyPrint, docx by python-docx; business prose from templates) synced into a local library, then
  ``library_index`` of it, timed, with the real embedder; then the baseline in the same run: the same
  embedder's ``embed`` on exactly the chunk texts the index stored, in batches of the same size, sorted
  by length over the whole set (the least padding there can be: a strict baseline). The ratio is the
  index's chunks/s over the baseline's (target ≥ 0.8). Where the index's time goes: its own calls to
  ``extract``, ``chunk_pages``, the embedder's ``token_counts`` and ``embed`` and the store's ``add`` are
  wrapped with timers (each one's own time, nested calls subtracted), the rest being the database
  writes, reading the contents and the bookkeeping. ``--profile`` adds a cProfile of a forced re-index.
* ``vectors``: synthetic unit vectors (384 dimensions) of a mixture around ``--centroids`` centroids
  (random unit vectors; weights from a Dirichlet(1) draw, so clusters differ in size; each vector the
  normalized sum of its centroid and Gaussian noise of the same expected length, so a vector is at
  cosine ~0.7 to its centroid and ~0.5 to its cluster's others, and the top 10 of a query are close
  calls among one cluster's members, not trivially apart) written straight into ``Chunk`` rows
  (``bulk_create``) and ``vector_store(384).add``, then ``rebuild_vector_index``. At each of ``--sizes``
  (the library grows to it), ``--queries`` queries from the same distribution: the first query apart
  (the exact store's cache fill, with its RSS growth), then p50/p95 of the rest, for the default store
  (pgvector HNSW on PostgreSQL with the extension, exact numpy elsewhere) and, on PostgreSQL, the exact
  store too; recall@10 of each against the true top 10 (numpy over the generated array, which is also
  the latency baseline: a matrix product and ``argpartition`` over vectors already in memory). At the
  first size also ``search_libraries`` end to end (the query embedded by the real model, the store, the
  hits' rows): p50/p95 over phrases in the corpus's words.

Figures are printed with the cores, the load average before and after each phase, and peak RSS growth
(VmHWM reset through ``/proc/self/clear_refs``). The service's database is ``var/bench-search.sqlite3``
(``--service sqlite``) or ``informer_bench_search`` on the local PostgreSQL (``--service postgresql``,
created if missing, migrated, so ``ensure_pgvector`` runs); a ``DATABASE_URL`` of your own must name a
database whose name contains ``bench``. The corpus is written once to ``var/bench-search-corpus/`` and
reused (WeasyPrint takes about half a second a PDF); the stored contents are in a temporary folder.
The database and the temporary folder are removed at the end unless ``--keep``.

    .venv/bin/python bench/search.py --documents 200 --sizes 10000 --queries 50
    .venv/bin/python bench/search.py --documents 2000 --sizes 10000,100000
    .venv/bin/python bench/search.py --service postgresql --documents 2000 --sizes 10000,100000
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import re
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _django

ROOT = Path(__file__).resolve().parent.parent
SERVICE_PG = "postgres://postgres@127.0.0.1:5432/informer_bench_search"
CORPUS = ROOT / "var" / "bench-search-corpus"
DIMENSIONS = 384
TARGETS = {"index_ratio": 0.8, "exact_p95_ms": 150.0, "hnsw_p95_ms": 50.0, "recall": 0.95}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phases", default="model,index,vectors", help="of model, index, vectors")
    parser.add_argument("--service", choices=("postgresql", "sqlite"), default="sqlite")
    parser.add_argument("--documents", type=int, default=2000, help="files in the indexed corpus")
    parser.add_argument("--sizes", default="10000,100000", help="chunk counts for the vector searches")
    parser.add_argument("--queries", type=int, default=200, help="queries per search figure")
    parser.add_argument("--centroids", type=int, default=300, help="clusters of the synthetic vectors")
    parser.add_argument("--texts", type=int, default=512, help="texts per embedding-throughput figure")
    parser.add_argument("--batches", default="8,32,64", help="batch sizes for the embedding throughput")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reindex", action="store_true", help="also time a forced re-index after the baseline")
    parser.add_argument("--profile", action="store_true", help="also cProfile a forced re-index")
    parser.add_argument("--keep", action="store_true", help="keep the database and the temporary folder")
    return parser.parse_args()


def service_setup(kind: str) -> Path:
    """Point DATABASE_URL at a benchmark database and the library settings at the corpus and a temporary folder."""
    _django.bench_database(kind, SERVICE_PG)
    work = Path(tempfile.mkdtemp(prefix="bench-search-"))
    (work / "media").mkdir()
    CORPUS.mkdir(parents=True, exist_ok=True)
    os.environ["INFORMER_LIBRARY_ROOT"] = str(CORPUS)
    os.environ["MEDIA_ROOT"] = str(work / "media")  # the stored contents (default_storage)
    os.environ.pop("INFORMER_EMBEDDER", None)  # the real model, whatever the shell says
    return work


ARGS = parse_args()
WORK = service_setup(ARGS.service)
import _corpus  # noqa: E402
from _report import CPU, closing, load, measured, opening, status  # noqa: E402

_django.setup("search")

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import F  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from informer.models import Tenant, User  # noqa: E402
from library.content import contents_collect  # noqa: E402
from library.models import Chunk, IndexStatus, Library, LibraryFile  # noqa: E402


@dataclass
class Row:
    what: str
    size: int | str
    ms: float
    rss_mb: float | None = None
    cpu_ms: float | None = None
    note: str = ""


OUT: list[Row] = []
SUMMARY: list[str] = []


def say(text: str) -> None:
    print(f"  {text} | {load()}", file=sys.stderr, flush=True)


def percentiles(values: Sequence[float]) -> tuple[float, float]:
    p50, p95 = np.percentile(np.asarray(values), [50, 95])
    return float(p50), float(p95)


def verdict(ok: bool) -> str:
    return "met" if ok else "missed"


# Timers around the indexer's collaborators


class Timers:
    """Own time (nested timed calls subtracted) per name, per thread, added up across threads."""

    def __init__(self) -> None:
        self.own: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._local = threading.local()
        self._lock = threading.Lock()

    def wrap(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            stack: list[float] = self._local.__dict__.setdefault("stack", [])
            stack.append(0.0)
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - started
                children = stack.pop()
                if stack:
                    stack[-1] += elapsed
                with self._lock:
                    self.own[name] = self.own.get(name, 0.0) + elapsed - children
                    self.calls[name] = self.calls.get(name, 0) + 1

        return timed


class TimedStore:
    """A vector store whose ``add`` is timed; everything else passes through."""

    def __init__(self, store: Any, timers: Timers) -> None:
        self._store = store
        self.add = timers.wrap("store.add", store.add)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


@contextmanager
def timed_indexer(embedder: Any, timers: Timers) -> Iterator[None]:
    """``library.services.index``'s extract, chunk_pages and vector_store, and the embedder's calls, timed."""
    import library.services.index as index_module

    saved = {name: getattr(index_module, name) for name in ("extract", "chunk_pages", "vector_store")}
    index_module.extract = timers.wrap("extract", saved["extract"])  # type: ignore[attr-defined]
    index_module.chunk_pages = timers.wrap("chunk_pages", saved["chunk_pages"])  # type: ignore[attr-defined]
    index_module.vector_store = lambda *a, **k: TimedStore(saved["vector_store"](*a, **k), timers)  # type: ignore[attr-defined]
    embedder.embed = timers.wrap("embed", type(embedder).embed.__get__(embedder))
    embedder.token_counts = timers.wrap("token_counts", type(embedder).token_counts.__get__(embedder))
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(index_module, name, value)
        del embedder.embed, embedder.token_counts


# Owner and libraries


def owner() -> User:
    """The benchmark's user, its earlier libraries removed."""
    tenant, _ = Tenant.objects.get_or_create(slug="bench-search", defaults={"name": "Bench search"})
    user, _ = User.objects.get_or_create(username="bench-search", defaults={"tenant": tenant})
    Library.objects.filter(tenant=tenant).delete()
    contents_collect()
    return user


def make_library(user: User, name: str, lib_settings: dict[str, Any]) -> Library:
    library: Library = Library.objects.create(
        tenant=user.tenant, owner=user, name=name, slug=name, type="local", settings=lib_settings
    )
    return library


# Phase: model


def chunk_texts(embedder: Any, count: int, seed: int) -> list[str]:
    """``count`` texts of 40 to 200 wordpieces (uniform), sentences of the corpus's prose packed up to each length."""
    import random

    rng = random.Random(f"{seed}-texts")
    out = []
    while len(out) < count:
        prose = _corpus.Prose(rng, rng.choice(sorted(_corpus.TOPICS)))
        target = rng.randint(40, 200)
        sentences = [prose.sentence() for _ in range(30)]
        counts = embedder.token_counts(sentences)
        text, total = [], 0
        for sentence, tokens in zip(sentences, counts, strict=True):
            if total + tokens > target and text:
                break
            text.append(sentence)
            total += tokens
        out.append(" ".join(text))
    return out


def phase_model() -> Any:
    """First load of the embedder, its first call, and throughput by batch size."""
    from library.embedding import MiniLMEmbedder, embedder_path, get_embedder

    assert embedder_path() == "library.embedding.MiniLMEmbedder", embedder_path()
    ms, rss, embedder = measured(get_embedder)
    after = status("VmRSS") / 1024
    OUT.append(Row("model load (get_embedder, first)", "", ms, rss, CPU["ms"], f"process RSS after {after:,.0f} MB"))
    ms, rss, _ = measured(lambda: embedder.embed(["The first call allocates the session's buffers."]))
    OUT.append(Row("first embed call (1 text)", 1, ms, rss, CPU["ms"]))
    say(f"model loaded in {OUT[-2].ms:,.0f} ms, +{OUT[-2].rss_mb:.0f} MB")
    texts = chunk_texts(embedder, ARGS.texts, ARGS.seed)
    counts = embedder.token_counts(texts)
    tokens = sum(counts)
    by_length = [text for _, text in sorted(zip(counts, texts, strict=True), key=lambda pair: pair[0])]
    default = MiniLMEmbedder.batch_size
    rows: dict[str, Row] = {}
    configs = [(f"batch {size}, sorted by length", size, by_length) for size in map(int, ARGS.batches.split(","))]
    configs.append((f"batch {default}, unsorted", default, texts))
    for label, size, batch_texts in configs:
        embedder.batch_size = size
        try:
            ms, rss, vectors = measured(lambda batch_texts=batch_texts: embedder.embed(batch_texts))
        finally:
            del embedder.batch_size  # back to the class's
        assert vectors.shape == (len(texts), DIMENSIONS)
        rate = len(texts) / ms * 1000
        rows[label] = Row(f"embed {label}", len(texts), ms, rss, CPU["ms"],
                          f"{rate:,.1f} texts/s, {tokens / ms * 1000:,.0f} wordpieces/s")  # fmt: skip
        say(f"embed {label}: {rate:,.1f} texts/s")
    base = rows[f"batch {default}, sorted by length"].ms
    for row in rows.values():
        row.note += f", {base / row.ms:.2f}x batch {default} sorted"
        OUT.append(row)
    SUMMARY.append(f"model load {OUT[0].ms:,.0f} ms, RSS +{OUT[0].rss_mb:.0f} MB; texts of {tokens / len(texts):.0f} "
                   f"wordpieces on average, {len(texts)} of them")  # fmt: skip
    return embedder


def indexed(library: Library, embedder: Any, *, force: bool) -> tuple[float, int, float, Timers]:
    """One timed ``library_index`` (its calls timed by part): ms, chunks, CPU ms and the timers."""
    from library.services.index import library_index

    timers = Timers()
    with timed_indexer(embedder, timers), CaptureQueriesContext(connection) as queries:
        ms, rss, result = measured(lambda: library_index(library, force=force))
    cpu = CPU["ms"]
    assert result.success, result.to_dict()
    assert not result.errors and result.indexed == ARGS.documents, result.to_dict()
    chunks = Chunk.objects.filter(library=library).count()
    assert chunks == result.chunks, (chunks, result.chunks)
    import library.services.index as index_module

    gathered = getattr(index_module, "EMBED_BATCH", "?")
    label = "library_index" + (" --force" if force else "")
    OUT.append(Row(f"{label} (embeds {gathered} texts at a time)", f"{ARGS.documents} files", ms, rss, cpu,
                   f"{chunks:,} chunks, {chunks / ms * 1000:,.1f} chunks/s, {len(queries.captured_queries):,} "
                   "queries"))  # fmt: skip
    say(f"{label}: {chunks:,} chunks in {ms / 1000:,.1f} s")
    return ms, chunks, cpu, timers


# Phase: index


def phase_index(user: User) -> Library:
    """Sync the corpus into a local library, index it, then embed the same chunk texts bare."""
    from library.embedding import get_embedder
    from library.services.index import library_index
    from library.services.sync import library_sync

    if ARGS.reindex and ARGS.profile:
        sys.exit("--reindex and --profile: one forced re-index at a time")

    embedder = get_embedder()
    folder = f"seed{ARGS.seed}-n{ARGS.documents}"
    ms, _, counts = measured(lambda: _corpus.corpus_write(CORPUS / folder, ARGS.documents, ARGS.seed))
    mix = ", ".join(f"{fmt} {count}" for fmt, count in sorted(counts.items()))
    say(f"corpus {folder}: {mix} ({ms / 1000:,.1f} s to write or find)")
    library = make_library(user, f"corpus-{ARGS.documents}", {"path": folder})
    ms, _, synced = measured(lambda: library_sync(library=library))
    assert synced.success and synced.added == ARGS.documents, synced.as_json()
    megabytes = synced.bytes / 2**20
    say(f"synced {synced.added} files, {megabytes:,.1f} MB, in {ms / 1000:,.1f} s")
    OUT.append(Row("library_sync of the corpus", f"{ARGS.documents} files", ms, None, CPU["ms"],
                   f"{megabytes:,.1f} MB: {mix}"))  # fmt: skip
    embedder.embed(["warm up"] * 4)

    index_runs = [indexed(library, embedder, force=False)]
    chunks = index_runs[0][1]

    texts = list(Chunk.objects.filter(library=library).values_list("text", flat=True))
    by_length = sorted(texts, key=len)
    ms, rss, vectors = measured(lambda: embedder.embed(by_length))
    assert vectors.shape == (chunks, DIMENSIONS)
    base_rate, base_cpu = chunks / ms * 1000, CPU["ms"]
    OUT.append(Row(f"baseline: bare embed (batch {embedder.batch_size})", f"{chunks} chunks", ms, rss,
                   base_cpu, f"{base_rate:,.1f} chunks/s, the same texts sorted by length"))  # fmt: skip
    say(f"baseline {ms / 1000:,.1f} s")
    # The texts as the index meets them (file by file), sorted by length only within each gathering of
    # EMBED_BATCH: what the index's own embed calls cost without the rest of it, so the gap to the
    # baseline above splits into padding and the index's other work.
    import library.services.index as index_module

    window = int(getattr(index_module, "EMBED_BATCH", embedder.batch_size))
    in_order = list(Chunk.objects.filter(library=library).order_by("id").values_list("text", flat=True))
    windows = [sorted(in_order[start : start + window], key=len) for start in range(0, len(in_order), window)]
    ms, rss, _ = measured(lambda: [embedder.embed(texts) for texts in windows])
    windowed_rate = chunks / ms * 1000
    OUT.append(Row(f"bare embed, sorted within {window}s in file order", f"{chunks} chunks", ms, rss, CPU["ms"],
                   f"{windowed_rate:,.1f} chunks/s, {base_rate / windowed_rate:.2f}x the baseline's time"))  # fmt: skip
    if ARGS.reindex:
        index_runs.append(indexed(library, embedder, force=True))
    for number, (index_ms, _, index_cpu, timers) in enumerate(index_runs):
        rate = chunks / index_ms * 1000
        ratio, cpu_ratio = rate / base_rate, base_cpu / index_cpu
        # Where the index's time went (own time of each wrapped call).
        total = index_ms / 1000
        parts = dict(timers.own)
        accounted = sum(parts.values())
        lines = [f"{name} {seconds:,.1f} s ({seconds / total:.0%}, {timers.calls[name]:,} calls)"
                 for name, seconds in sorted(parts.items(), key=lambda item: -item[1])]  # fmt: skip
        lines.append(f"the rest (database writes, reading contents, bookkeeping) {total - accounted:,.1f} s "
                     f"({(total - accounted) / total:.0%})")  # fmt: skip
        outside = 1 - parts.get("embed", 0.0) / total
        which = "index" if number == 0 else "forced re-index (after the baseline)"
        SUMMARY.append(f"{which} {ARGS.documents:,} files / {chunks:,} chunks: {rate:,.1f} chunks/s against the bare "
                       f"embedder's {base_rate:,.1f}: ratio {ratio:.2f} (≥ {TARGETS['index_ratio']}: "
                       f"{verdict(ratio >= TARGETS['index_ratio'])}; on this process's CPU {cpu_ratio:.2f}); "
                       f"{outside:.0%} of the time outside embed")  # fmt: skip
        SUMMARY.append("  time by part: " + "; ".join(lines))

    if ARGS.profile:
        profiled(f"a forced re-index of {ARGS.documents:,} files", lambda: library_index(library, force=True))
    return library


def profiled(title: str, call: Callable[[], Any]) -> None:
    profiler = cProfile.Profile()
    profiler.runcall(call)
    print(f"\ncProfile of {title} ({connection.vendor} service), by own time:")
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.sort_stats("tottime").print_stats(15)
    print("  ... and by cumulative time, the library's own functions:")
    stats.sort_stats("cumulative").print_stats(r"library/", 25)


# Phase: vectors


class Mixture:
    """Unit vectors around ``centroids`` random unit centroids, with a fixed seed."""

    def __init__(self, centroids: int, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        centres = self.rng.standard_normal((centroids, DIMENSIONS)).astype(np.float32)
        self.centres = centres / np.linalg.norm(centres, axis=1, keepdims=True)
        self.weights = self.rng.dirichlet(np.ones(centroids))

    def draw(self, count: int) -> np.ndarray:
        which = self.rng.choice(len(self.centres), size=count, p=self.weights)
        noise = self.rng.standard_normal((count, DIMENSIONS)).astype(np.float32) / np.sqrt(DIMENSIONS)
        vectors = self.centres[which] + noise
        return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def drop_hnsw() -> None:
    """Drop the HNSW index of library_chunkvector, so a bulk add need not maintain it (rebuilt after)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'library_chunkvector' AND indexdef ILIKE '%hnsw%'"
        )
        for (name,) in cursor.fetchall():
            cursor.execute(f'DROP INDEX IF EXISTS "{name}"')


def vectors_load(library: Library, vectors: np.ndarray, start: int, texts: list[str]) -> tuple[list[int], float, float]:
    """Chunk rows for ``vectors`` (50 to a file) and the store's copy; their ids, ms for the rows, ms for add."""
    from library.vectors import vector_bytes, vector_store

    store = vector_store(DIMENSIONS)
    ids: list[int] = []
    rows_ms = add_ms = 0.0
    per_file, step = 50, 5000
    for offset in range(0, len(vectors), step):
        part = vectors[offset : offset + step]
        first = start + offset
        started = time.perf_counter()
        with transaction.atomic():
            files = LibraryFile.objects.bulk_create(
                [
                    LibraryFile(
                        library=library,
                        path=f"synthetic/f{n:07d}.txt",
                        filename=f"f{n:07d}.txt",
                        size=1000,
                        sha256=f"{n:064x}",
                        index_status=IndexStatus.INDEXED,
                        chunks=per_file,
                    )
                    for n in range(first // per_file, (first + len(part) + per_file - 1) // per_file)
                ]
            )
            by_number = {int(file.filename[1:8]): file for file in files}
            chunks = Chunk.objects.bulk_create(
                [
                    Chunk(
                        library=library,
                        file=by_number[(first + i) // per_file],
                        ordinal=(first + i) % per_file,
                        text=texts[(first + i) % len(texts)],
                        end=len(texts[(first + i) % len(texts)]),
                        vector=vector_bytes(vector),
                    )
                    for i, vector in enumerate(part)
                ],
                batch_size=1000,
            )
            rows_ms += (time.perf_counter() - started) * 1000
            started = time.perf_counter()
            store.add(chunks)
            add_ms += (time.perf_counter() - started) * 1000
        ids.extend(chunk.id for chunk in chunks)
    Library.objects.filter(pk=library.pk).update(index_version=F("index_version") + 1)
    return ids, rows_ms, add_ms


def exact_store() -> Any:
    """The exact (numpy) store, also where pgvector is the default."""
    import library.vectors as vectors_module

    for name in ("ExactVectorStore", "ExactStore", "NumpyVectorStore"):
        if hasattr(vectors_module, name):
            return getattr(vectors_module, name)(DIMENSIONS)
    raise SystemExit("library.vectors has no exact store class this benchmark knows (ExactVectorStore?)")


def latency(label: str, size: int, search: Callable[[np.ndarray], list[tuple[int, float]]], queries: np.ndarray,
            truth: np.ndarray, ids: np.ndarray) -> tuple[float, float, float]:  # fmt: skip
    """First query apart, then p50/p95 of the rest; recall@10 against the true top 10 over all of them."""
    ms, rss, first = measured(lambda: search(queries[0]))
    answers = [first]
    times = []
    with CaptureQueriesContext(connection) as captured:
        answers.append(search(queries[1]))
    times_queries = len(captured.captured_queries)
    for query in queries[2:]:
        started = time.perf_counter()
        answers.append(search(query))
        times.append((time.perf_counter() - started) * 1000)
    recall = float(
        np.mean([len({chunk for chunk, _ in answer} & set(ids[row].tolist())) / 10 for answer, row in
                 zip(answers, truth, strict=True)])
    )  # fmt: skip
    p50, p95 = percentiles(times)
    OUT.append(Row(f"{label}: first query", size, ms, rss, None, "cache fill, if any"))
    OUT.append(Row(f"{label}: p50", size, p50, None, None,
                   f"p95 {p95:,.1f} ms, max {max(times):,.1f}; recall@10 {recall:.3f}; {times_queries} queries "
                   f"a search; {len(times)} searches"))  # fmt: skip
    say(f"{label} at {size:,}: first {ms:,.0f} ms, p50 {p50:,.1f}, p95 {p95:,.1f}, recall {recall:.3f}")
    return p50, p95, recall


def analyze() -> None:
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE library_chunkvector")


def pg_plan(library: Library, query: np.ndarray) -> str:
    """The scan the pgvector store's statement gets (EXPLAIN, with the store's settings), in a few words."""
    from library.vectors import EF_SEARCH, search_sql

    sql, params = search_sql(False)
    text = "[" + ",".join(f"{value:.6f}" for value in query.tolist()) + "]"
    values = {"query": text, "libraries": [str(library.id)], "limit": 10}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('hnsw.ef_search', %s, true)", [str(EF_SEARCH)])
        cursor.execute("SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true)")
        cursor.execute("EXPLAIN " + sql, [values[name] for name in params])
        lines = [row[0] for row in cursor.fetchall()]
    scans = [re.sub(r"\s+\(cost.*", "", line).strip(" ->") for line in lines if "Scan" in line]
    return ", ".join(scans)


def phase_vectors(user: User) -> None:
    """Synthetic vectors into a library grown to each size; the stores' latency and recall; search end to end."""
    from library.embedding import get_embedder
    from library.services.search import search_libraries
    from library.vectors import pgvector_available, rebuild_vector_index, vector_store

    embedder = get_embedder()
    sizes = [int(size) for size in ARGS.sizes.split(",") if size]
    mixture = Mixture(ARGS.centroids, ARGS.seed)
    library = make_library(user, "synthetic", {"path": "synthetic"})
    Library.objects.filter(pk=library.pk).update(index_model=embedder.name)
    texts = [" ".join(_corpus.Prose(__import__("random").Random(n), "finance").paragraphs(120))[:1000]
             for n in range(500)]  # fmt: skip
    store = vector_store(DIMENSIONS)
    pg = pgvector_available()
    say(f"default store {store.name}; pgvector available: {pg}")
    all_vectors = np.zeros((0, DIMENSIONS), dtype=np.float32)
    all_ids: list[int] = []
    queries = mixture.draw(ARGS.queries)
    for size in sizes:
        new = mixture.draw(size - len(all_ids))
        if pg:
            drop_hnsw()
        loaded = len(all_ids)
        ms, rss, (ids, rows_ms, add_ms) = measured(
            lambda new=new, loaded=loaded: vectors_load(library, new, loaded, texts)
        )
        load_cpu = CPU["ms"]
        all_ids += ids
        all_vectors = np.concatenate([all_vectors, new])
        note = f"rows {rows_ms / 1000:,.1f} s, store.add {add_ms / 1000:,.1f} s"
        if pg:
            rebuild_ms, _, _ = measured(rebuild_vector_index)
            note += f", rebuild_vector_index {rebuild_ms / 1000:,.1f} s"
        OUT.append(Row(f"load {len(new):,} synthetic chunks", size, ms, rss, load_cpu, note))
        say(f"loaded to {size:,}: {note}")
        id_array = np.asarray(all_ids)

        # The baseline and the truth: numpy over the vectors in memory.
        truth = np.empty((len(queries), 10), dtype=np.int64)
        times = []
        for row, query in enumerate(queries):
            started = time.perf_counter()
            scores = all_vectors @ query
            top = np.argpartition(-scores, 10)[:10]
            truth[row] = top[np.argsort(-scores[top])]
            times.append((time.perf_counter() - started) * 1000)
        base50, base95 = percentiles(times[1:])
        OUT.append(
            Row(
                "baseline: numpy in memory: p50",
                size,
                base50,
                None,
                None,
                f"p50 {base50:,.3f} ms, p95 {base95:,.3f} ms",
            )
        )

        kinds: list[tuple[str, Any, Callable[[], None] | None]] = [(f"{store.name} store", store, None)]
        if pg:
            # A bulk load leaves the table without statistics until autovacuum's ANALYZE comes round (or
            # with the last size's): without any, the planner guesses the library filter keeps few rows and
            # scores them all through the btree, exactly. The plan says which it was.
            kinds[0] = (f"{store.name} store, as loaded", store, None)
            kinds.append((f"{store.name} store after ANALYZE", store, analyze))
            kinds.append(("exact store", exact_store(), None))
        for label, kind, before in kinds:
            if before is not None:
                before()
            plan = pg_plan(library, queries[0]) if kind.name == "pgvector" else ""
            p50, p95, recall = latency(
                label,
                size,
                lambda query, kind=kind: kind.search([library.id], query, limit=10),
                queries,
                truth,
                id_array,
            )
            if plan:
                OUT[-1].note += f"; plan: {plan}"
            if kind.name == "exact":
                target = TARGETS["exact_p95_ms"]
                assert recall > 0.999, recall
            else:
                target = TARGETS["hnsw_p95_ms"]
            line = f"{label} on {connection.vendor} at {size:,}: p95 {p95:,.1f} ms"
            if size >= 100_000 or kind.name != "exact":
                line += f" (< {target:.0f} ms: {verdict(p95 < target)})"
            line += f", p50 {p50:,.1f} ms ({p50 / base50:,.1f}x numpy in memory's {base50:,.2f} ms)"
            if kind.name != "exact":
                line += f"; recall@10 {recall:.3f} (≥ {TARGETS['recall']}: {verdict(recall >= TARGETS['recall'])})"
            SUMMARY.append(line)

        if size == sizes[0]:
            phrases = _corpus.queries(ARGS.queries, ARGS.seed)
            library.refresh_from_db()
            search_libraries([library], phrases[0], limit=10)  # the store's cache filled, as in use
            times = []
            embed_times = []
            for phrase in phrases:
                started = time.perf_counter()
                hits = search_libraries([library], phrase, limit=10)
                times.append((time.perf_counter() - started) * 1000)
                assert len(hits) == 10, len(hits)
                started = time.perf_counter()
                embedder.embed([phrase])
                embed_times.append((time.perf_counter() - started) * 1000)
            p50, p95 = percentiles(times)
            e50, e95 = percentiles(embed_times)
            OUT.append(Row("search_libraries end to end: p50", size, p50, None, None,
                           f"p95 {p95:,.1f} ms; embedding the query alone p50 {e50:,.1f}, p95 {e95:,.1f}"))  # fmt: skip
            SUMMARY.append(f"search_libraries ({store.name}) at {size:,}: p50 {p50:,.1f} ms, p95 {p95:,.1f} ms, "
                           f"of which embedding the query p50 {e50:,.1f} ms")  # fmt: skip
            say(f"search_libraries at {size:,}: p50 {p50:,.1f}, p95 {p95:,.1f}")


def cleanup() -> None:
    """The temporary folder and the benchmark database (the corpus cache stays)."""
    shutil.rmtree(WORK, ignore_errors=True)
    _django.drop_database()


def table_line(row: Row) -> str:
    size = f"{row.size:,}" if isinstance(row.size, int) else row.size
    rss = f"{row.rss_mb:12.1f}" if row.rss_mb is not None else f"{'':12}"
    cpu = f"{row.cpu_ms:9,.0f}" if row.cpu_ms is not None else f"{'':9}"
    return f"{row.what:44} {size:>16} {row.ms:>10,.1f} {cpu} {rss}  {row.note}"


def main() -> None:
    phases = [phase for phase in ARGS.phases.split(",") if phase]
    started = time.monotonic()
    opening("bench/search.py", f"phases {ARGS.phases} | documents {ARGS.documents:,} | sizes {ARGS.sizes} | "
            f"queries {ARGS.queries}")  # fmt: skip
    try:
        if "model" in phases:
            phase_model()  # first, so the load is the process's first
        call_command("migrate", verbosity=0)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
                found = cursor.fetchone()
            print(f"pgvector: {found[0] if found else 'not installed'}")
        user = owner()
        if "index" in phases:
            phase_index(user)
            print(f"after index: {load()}")
        if "vectors" in phases:
            phase_vectors(user)
    finally:
        head = f"{'measurement':44} {'size':>16} {'ms':>10} {'CPU ms':>9} {'peak RSS +MB':>12}  note"
        closing(head, map(table_line, OUT), SUMMARY, started)
        if not ARGS.keep:
            cleanup()


if __name__ == "__main__":
    main()
