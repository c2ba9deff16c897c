"""Retrieval evaluation: several configurations side by side on one question set."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from eval.dataset import Question
from eval.metrics import contains, hit_at_chars, rank_metrics

KS = (1, 3, 5, 10)
DEPTH = 10  # ranked chunks asked of each configuration


class Searcher(Protocol):
    def search(self, question: str, k: int) -> list[tuple[str, str]]:  # (chunk id, text), best first
        ...

    def corpus(self) -> list[tuple[str, str]]: ...


class AssistantSearcher:
    """Any configuration of our own pipeline, through the public API only."""

    def __init__(self, assistant):
        self.assistant = assistant

    def search(self, question: str, k: int) -> list[tuple[str, str]]:
        return [(h.chunk_id, h.text) for h in self.assistant.retrieve(question, k=k)]

    def corpus(self) -> list[tuple[str, str]]:
        return [(c.id, c.text) for c in self.assistant.index.chunks]


class NaiveSearcher:
    """The common default: llama-index reads the folder, SentenceSplitter(1024, 200), dense only."""

    def __init__(self, notes_dir: Path, embedder, chunk_size: int = 1024, chunk_overlap: int = 200):
        import faiss
        from llama_index.core import SimpleDirectoryReader
        from llama_index.core.node_parser import SentenceSplitter

        documents = SimpleDirectoryReader(str(notes_dir), recursive=True).load_data()
        nodes = SentenceSplitter(chunk_size=chunk_size, chunk_overlap=chunk_overlap).get_nodes_from_documents(documents)
        self.chunks = [(f"naive-{i}", n.get_content()) for i, n in enumerate(nodes)]
        self.embedder = embedder
        vectors = embedder.embed([text for _, text in self.chunks])
        self.index = faiss.IndexFlatIP(vectors.shape[1])
        self.index.add(vectors)

    def search(self, question: str, k: int) -> list[tuple[str, str]]:
        _, ids = self.index.search(self.embedder.embed_query(question)[None, :], min(k, len(self.chunks)))
        return [self.chunks[i] for i in ids[0] if i >= 0]

    def corpus(self) -> list[tuple[str, str]]:
        return self.chunks


@dataclass
class ConfigResult:
    name: str
    metrics: dict[str, float]
    hit_at_2000: float
    chunks: int
    per_question: dict[str, bool] = field(default_factory=dict)  # question id -> hit@2000chars

    def misses(self) -> list[str]:
        return [q for q, hit in self.per_question.items() if not hit]


def evaluate_searcher(
    name: str, searcher: Searcher, questions: list[Question], progress: Callable[[], None] | None = None
) -> ConfigResult:
    corpus = searcher.corpus()
    qrels: dict[str, dict[str, int]] = {}
    run: dict[str, dict[str, float]] = {}
    per_question: dict[str, bool] = {}
    for q in questions:
        if not q.answerable:
            continue
        ranked = searcher.search(q.question, DEPTH)
        qrels[q.id] = {cid: 1 for cid, text in corpus if contains(text, q.quote)}
        run[q.id] = {cid: float(DEPTH - r) for r, (cid, _) in enumerate(ranked)}
        per_question[q.id] = hit_at_chars([text for _, text in ranked], q.quote, 2000)
        if progress:
            progress()
    answered = len(per_question)
    return ConfigResult(
        name=name,
        metrics=rank_metrics(qrels, run),
        hit_at_2000=sum(per_question.values()) / answered if answered else 0.0,
        chunks=len(corpus),
        per_question=per_question,
    )
