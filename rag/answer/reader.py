"""The reader: a cross-encoder that reads a question with one candidate sentence and scores, 0-1, "this
sentence states the answer" (issue #24).

It is the packaged MiniLM fine-tuned on labelled sentences (`python -m training.train_reader`), shipped as an
int8 ONNX graph beside this file and run by onnxruntime + tokenizers, so asking a question never imports
torch. `candidate_text` is the one definition of what the reader reads; the training pairs are built with
it, so training and inference cannot drift apart.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

MODEL_DIR = Path(__file__).parent / "models"
GRAPH = "reader-int8.onnx"
# bump when candidate_text changes: a model trained on another format must not be fed this one
FORMAT_VERSION = 2  # 2: the heading cut to its last two levels
MAX_TOKENS = 128  # question + candidate, in word pieces; the candidate's tail is cut first
# a sentence that leans on the one before it ("It helps address internal covariate shift.")
CONTINUES = re.compile(r"^(It|Its|This|These|They|Their|That|Such|Thus|Therefore|Hence)\b")


def candidate_text(heading: str, sentence: str, previous: str | None = None) -> str:
    """What the reader reads for one sentence of a passage whose heading is `heading` (`Chunk.heading`,
    "note title > heading > subheading"): the last two levels of it (a title repeated as the first
    heading counted once), which carry the topic in fewer word pieces, then the sentence; the sentence it
    continues goes last, so that truncation (which cuts the longer text of a pair from its end) takes
    the context, not the sentence."""
    levels: list[str] = []
    for level in heading.split(" > "):
        if not levels or levels[-1] != level:
            levels.append(level)
    text = f"{' > '.join(levels[-2:])}: {sentence}"
    return f"{text} (context: {previous})" if previous else text


def passage_candidates(heading: str, units: list[str]) -> list[str]:
    """candidate_text for each unit of one passage (`evidence.split_units`, in order)."""
    return [candidate_text(heading, u, units[i - 1] if i and CONTINUES.match(u) else None) for i, u in enumerate(units)]


class Reader:
    # the files of a trained head in its directory, and the input format it was trained on
    graph, meta, format_version = GRAPH, "reader.json", FORMAT_VERSION

    def __init__(self, directory: Path):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        meta = json.loads((directory / self.meta).read_text())
        if meta["format_version"] != self.format_version:
            raise ValueError(
                f"{directory / self.graph} reads format {meta['format_version']}, not {self.format_version}"
            )
        self.tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self.tokenizer.enable_truncation(int(meta["max_tokens"]))  # longest first, as in training
        self.tokenizer.enable_padding(pad_id=self.tokenizer.token_to_id("[PAD]"), pad_token="[PAD]")
        options = ort.SessionOptions()
        options.log_severity_level = 3
        # idle threads sleep instead of spinning, as for the embedder (ingest/onnx_embed.py)
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(directory / self.graph), options, providers=["CPUExecutionProvider"])

    @classmethod
    def load(cls, directory: Path = MODEL_DIR):
        """The shipped model; None when it has not been trained into `directory`."""
        return cls(directory) if (directory / cls.graph).is_file() and (directory / cls.meta).is_file() else None

    def scores(self, question: str, candidates: list[str], batch_size: int = 16) -> np.ndarray:
        """P(candidate states the answer), one per candidate, in their order."""
        # candidates of similar length share a batch, so little of the work is padding: 40 candidates
        # took 165 ms in batches of 16, 275 ms in one batch padded to the longest
        order = sorted(range(len(candidates)), key=lambda i: len(candidates[i]))
        out = np.zeros(len(candidates), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            out[rows] = self._logits([(question, candidates[i]) for i in rows])
        return 1 / (1 + np.exp(-out))

    def _logits(self, pairs: list[tuple[str, str]]) -> np.ndarray:
        encoded = self.tokenizer.encode_batch(pairs)
        feed = {
            "input_ids": np.array([e.ids for e in encoded], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encoded], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encoded], dtype=np.int64),
        }
        return self.session.run(None, feed)[0].reshape(-1)
