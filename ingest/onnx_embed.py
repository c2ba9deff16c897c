"""The packaged MiniLM run by onnxruntime and tokenised by `tokenizers`, so asking a question never imports torch.

The graph is exported once from the packaged weights (`rag model prepare`, or the first process that needs
it) into the cache. The vectors are the ones sentence-transformers makes for this model (its modules.json:
Transformer, mean Pooling, Normalize), so an index embedded by either backend stays valid.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np

_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def max_tokens(model_dir: Path) -> int:
    # sentence-transformers truncates at max_seq_length (256 here), not at tokenizer.json's own 128
    return int(json.loads((model_dir / "sentence_bert_config.json").read_text())["max_seq_length"])


class OnnxEncoder:
    def __init__(self, graph: Path, model_dir: Path):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_tokens(model_dir))
        self.tokenizer.enable_padding(pad_id=self.tokenizer.token_to_id("[PAD]"), pad_token="[PAD]")
        options = ort.SessionOptions()
        options.log_severity_level = 3  # warnings about unused initialisers are noise to a user
        # idle threads sleep instead of spinning: on a busy 2-core machine spinning cost a quarter more
        # CPU and time per batch (docs/benchmarks.md, "Start-up")
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
        self.dimension = int(self.session.get_outputs()[0].shape[-1])

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        # texts of similar length share a batch, so little of the work is padding
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            rows = order[start : start + batch_size]
            out[rows] = self._batch([texts[i] for i in rows])
        return out

    def _batch(self, texts: list[str]) -> np.ndarray:
        encoded = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        hidden = self.session.run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        )[0]
        return mean_pool_normalise(hidden, mask)


def mean_pool_normalise(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    weights = mask[..., None].astype(np.float32)
    pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
    return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)


def export(model_dir: Path, target: Path) -> Path:
    """Trace the model's transformer to ONNX (torch is needed here only), check its vectors against the
    model's own, and move it into place."""
    import torch
    from tokenizers import Tokenizer
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    model = AutoModel.from_pretrained(str(model_dir)).eval()

    class LastHiddenState(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    # the reference vectors come first: after tracing, the torch model no longer gives its own outputs
    expected = _reference(model, Tokenizer.from_file(str(model_dir / "tokenizer.json")), max_tokens(model_dir))
    target.parent.mkdir(parents=True, exist_ok=True)
    # a private name, then an atomic rename: two processes exporting at once never read half a file
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    example = torch.ones((2, 8), dtype=torch.long)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer warnings about Python branches that are constant here
            torch.onnx.export(
                LastHiddenState(),
                (example, example, torch.zeros_like(example)),
                str(partial),
                input_names=list(_INPUTS),
                output_names=["last_hidden_state"],
                dynamic_axes={name: {0: "batch", 1: "tokens"} for name in [*_INPUTS, "last_hidden_state"]},
                opset_version=17,
                dynamo=False,
            )
        found = OnnxEncoder(partial, model_dir).encode(_CHECK_TEXTS, batch_size=len(_CHECK_TEXTS))
        if (cosine := (found * expected).sum(axis=1).min()) < 0.9999:
            raise RuntimeError(f"the ONNX export of {model_dir} disagrees with the model (cosine {cosine:.4f})")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


# padded rows and a text past the truncation length: the traced graph must have fixed neither
_CHECK_TEXTS = ["What is dropout?", "Batch normalization normalises each layer's inputs. " * 4, "Overfitting " * 300]


def _reference(model, tokenizer, limit: int) -> np.ndarray:
    """The model's vectors for the check texts, each run alone (no padding), as sentence-transformers would."""
    import torch

    tokenizer.enable_truncation(limit)
    tokenizer.no_padding()  # tokenizer.json pads to 128
    vectors = []
    with torch.no_grad():
        for text in _CHECK_TEXTS:
            ids = torch.tensor([tokenizer.encode(text).ids])
            hidden = model(
                input_ids=ids, attention_mask=torch.ones_like(ids), token_type_ids=torch.zeros_like(ids)
            ).last_hidden_state
            vectors.append(mean_pool_normalise(hidden.numpy(), np.ones(ids.shape, dtype=np.int64))[0])
    return np.stack(vectors)
