"""The plain data the API hands out."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import asdict, dataclass, field
from typing import Literal, get_args

from ingest.chunking import Chunk

__all__ = ["Chunk", "Hit", "Source", "Answer", "AnswerMode", "ANSWER_MODES", "Made", "AnswerStream"]

# How to answer (the `answer_mode` setting, `--mode`): every sentence the LLM writes checked against the
# notes; the notes' own sentences, no LLM; whole passages to the LLM, unchecked; the LLM alone, no notes
# (the baseline that shows what the notes add).
AnswerMode = Literal["verified", "extractive", "raw", "closed-book"]
ANSWER_MODES: tuple[str, ...] = get_args(AnswerMode)
# How an answer was made: the LLM's (checked in verified mode), the notes' own sentences, or not at all.
Made = Literal["generated", "extractive", "abstained"]


@dataclass
class Hit:
    chunk: Chunk
    score: float  # fused score; higher is better
    rank: int  # 1-based
    dense_rank: int | None = None
    bm25_rank: int | None = None
    path: str = ""  # the note file itself: the index's notes folder / source

    @property
    def text(self) -> str:
        return self.chunk.text

    @property
    def source(self) -> str:
        return self.chunk.source

    @property
    def heading(self) -> str:
        return self.chunk.heading

    @property
    def chunk_id(self) -> str:
        return self.chunk.id

    def to_json(self) -> dict:
        return {
            "rank": self.rank,
            "score": round(self.score, 6),
            "source": self.source,
            "heading": self.heading,
            "path": self.path,
            "lines": [self.chunk.line_start, self.chunk.line_end],
            "chunk_id": self.chunk_id,
            "dense_rank": self.dense_rank,
            "bm25_rank": self.bm25_rank,
            "text": self.text,
        }


@dataclass
class Source:
    n: int  # the block number the prompt gave it, [n] in the answer
    source: str
    heading: str
    excerpt: str
    chunk_id: str
    cited: bool
    text: str = ""
    path: str = ""  # the note file, to open it at line_start (empty in sessions saved before paths were kept)
    line_start: int = 0
    line_end: int = 0
    evidence: list[str] = field(default_factory=list)  # the sentences of it the answer was drawn from

    def to_json(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k != "text"}


@dataclass
class Answer:
    question: str
    text: str
    sources: list[Source]
    timings: dict[str, float] = field(default_factory=dict)
    invalid_citations: list[int] = field(default_factory=list)  # numbers the model made up, removed
    attributed_citations: list[int] = field(default_factory=list)  # added by word overlap, not by the model
    error: str | None = None  # the LLM could not answer (down, stopped mid-answer); text may be partial
    llm_used: bool = True  # the text is the LLM's (checked); false for extractive and abstained answers
    notice: str | None = None  # something the user should know, e.g. that the local server was started
    mode: Made = "generated"
    claims: list = field(default_factory=list)  # rag.answer.verify.Claim per sentence the model wrote
    coverage: float | None = None  # how well the notes cover the question (abstention rule's score)
    truncated: bool = False  # the model hit llm_max_tokens; its unfinished sentence was left out

    @property
    def dropped(self) -> list[str]:
        """Sentences the model wrote that the notes do not support: kept out of the answer."""
        return [c.text for c in self.claims if not c.supported]

    @property
    def unsupported(self) -> list[str]:
        """The dropped sentences that made a claim (not loops, echoes or filler): what to show a user."""
        return [c.text for c in self.claims if c.outcome == "unsupported"]

    def to_json(self) -> dict:
        return {
            "answer": self.text,
            "sources": [s.to_json() for s in self.sources],
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "invalid_citations": self.invalid_citations,
            "attributed_citations": self.attributed_citations,
            "error": self.error,
            "notice": self.notice,
            "mode": self.mode,
            "claims": [c.to_json() for c in self.claims],
            "not_in_notes": self.dropped,
            "coverage": None if self.coverage is None else round(self.coverage, 3),
            "truncated": self.truncated,
        }


class AnswerStream:
    """An answer as it is written (as simonw/llm's `Response`): iterating gives the model's text pieces
    as they arrive; `.answer` is the finished `Answer`, waiting for the rest of the stream if need be.

    In verified mode the pieces are a draft: the answer's text is what survived the check."""

    def __init__(self, pieces: Generator[str, None, Answer]):
        self._pieces = pieces
        self._answer: Answer | None = None

    def __iter__(self) -> Iterator[str]:
        if self._answer is None:
            self._answer = yield from self._pieces

    @property
    def answer(self) -> Answer:
        for _ in self:
            pass
        return self._answer
