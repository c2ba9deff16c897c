"""The plain data the API hands out."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ingest.chunking import Chunk

__all__ = ["Chunk", "Hit", "Source", "Answer"]


@dataclass
class Hit:
    chunk: Chunk
    score: float  # fused score; higher is better
    rank: int  # 1-based
    dense_rank: int | None = None
    bm25_rank: int | None = None

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
    llm_used: bool = True
    notice: str | None = None  # something the user should know, e.g. that the local server was started

    def to_json(self) -> dict:
        return {
            "answer": self.text,
            "sources": [s.to_json() for s in self.sources],
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "invalid_citations": self.invalid_citations,
            "attributed_citations": self.attributed_citations,
            "error": self.error,
            "notice": self.notice,
        }
