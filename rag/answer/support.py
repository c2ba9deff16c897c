"""The support head: a cross-encoder that reads a claim with one note sentence and scores, 0-1, "this
sentence states what the claim says" (issues #24, #21): low for a claim that reverses the sentence (a
negation, an antonym, another number, two terms swapped) or says something it does not.

The packaged MiniLM fine-tuned on reversals of the notes' own sentences (`python -m training.train_support`),
shipped as an int8 ONNX graph beside the reader and run the same way (onnxruntime + tokenizers, the reader's
tokenizer and batching). The sentence is read as the reader reads it: `reader.candidate_text`.
"""

from __future__ import annotations

import numpy as np

from rag.answer.reader import Reader

GRAPH = "support-int8.onnx"
META = "support.json"
FORMAT_VERSION = 1


class SupportModel(Reader):
    graph, meta, format_version = GRAPH, META, FORMAT_VERSION

    def scores(self, claims: list[str], sentences: list[str], batch_size: int = 16) -> np.ndarray:
        """P(sentences[i] supports claims[i]), pairwise; sentences as `reader.candidate_text` writes them."""
        if len(claims) != len(sentences):
            raise ValueError(f"{len(claims)} claims but {len(sentences)} sentences: they are scored in pairs")
        # pairs of similar length share a batch, as in Reader.scores
        order = sorted(range(len(claims)), key=lambda i: len(claims[i]) + len(sentences[i]))
        out = np.zeros(len(claims), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            out[rows] = self._logits([(claims[i], sentences[i]) for i in rows])
        return 1 / (1 + np.exp(-out))
