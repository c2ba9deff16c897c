"""Retrieval latency and memory as the corpus grows, exact (flat) vs HNSW.

Synthetic corpora are made from the shipped notes: chunk i takes the text of one real chunk plus one
sentence of another (so BM25 sees varied documents), and a vector mixing the two real chunks' vectors
with a little noise (so the dense index holds N distinct points spread like the real ones). Questions
are the dev questions of the shipped set. The timed call is the whole `Retriever.search`: embed and
tokenize the question, FAISS, BM25, completion of every candidate's scores, fusion.
"""

from __future__ import annotations

import gc
import random
import statistics
import time
from dataclasses import replace

import numpy as np

from eval.dataset import load_questions
from ingest.store import IndexData, bm25_tokenize, build_dense
from rag import Assistant
from rag.answer.retrieve import Retriever


def synthetic(base: IndexData, n: int, seed: int = 0) -> tuple[list, np.ndarray]:
    rng = random.Random(seed)
    vectors = base.vectors()
    sentences = [s for c in base.chunks for s in c.text.split(". ") if len(s.split()) > 4]
    picks = [(rng.randrange(len(base.chunks)), rng.randrange(len(base.chunks))) for _ in range(n)]
    # the id names the real chunk a synthetic one was made from: recall is judged on those
    chunks = [
        replace(base.chunks[a], id=f"syn{i}-{a}", text=f"{base.chunks[a].text}\n{rng.choice(sentences)}")
        for i, (a, _) in enumerate(picks)
    ]
    a, b = np.array(picks).T
    noise = np.random.default_rng(seed).normal(0, 0.02, (n, vectors.shape[1])).astype(np.float32)
    mixed = 0.8 * vectors[a] + 0.2 * vectors[b] + noise
    mixed /= np.linalg.norm(mixed, axis=1, keepdims=True)
    return chunks, mixed.astype(np.float32)


def build(chunks: list, vectors: np.ndarray, index_type: str, manifest) -> tuple[IndexData, float, dict]:
    """The index in memory, its build time, and the bytes each part holds."""
    import bm25s
    import faiss

    started = time.perf_counter()
    dense = build_dense(vectors, vectors.shape[1], index_type)
    if index_type == "hnsw":
        dense.hnsw.efSearch = 64
    bm25 = bm25s.BM25()
    bm25.index(bm25_tokenize([c.embed_text for c in chunks]), show_progress=False)
    seconds = time.perf_counter() - started
    sizes = {
        "dense": faiss.serialize_index(dense).nbytes,
        "bm25": sum(v.nbytes for v in bm25.scores.values() if hasattr(v, "nbytes")),
        "text": sum(len(c.text.encode()) for c in chunks),
    }
    return (
        IndexData(manifest=replace(manifest, index_type=index_type), chunks=chunks, dense=dense, bm25=bm25, path=None),
        seconds,
        sizes,
    )


def latency(retriever: Retriever, questions: list[str], k: int = 5, rounds: int = 2) -> tuple[float, float, list]:
    retriever.search(questions[0], k)  # warm caches (question embedding model, BM25 arrays)
    times, results = [], []
    for _ in range(rounds):
        for q in questions:
            started = time.perf_counter()
            hits = retriever.search(q, k)
            times.append(time.perf_counter() - started)
            results.append([h.chunk.id for h in hits])
    return statistics.median(times), float(np.percentile(times, 95)), results


def origin(chunk_id: str) -> str:
    return chunk_id.rsplit("-", 1)[1]


def dense_recall(exact: IndexData, approx: IndexData, queries: np.ndarray, k: int = 10) -> tuple[float, float]:
    """(exact-neighbour recall@k, recall@k of the real chunks the neighbours were made from). A corpus
    built from a few hundred real chunks holds thousands of near-copies of each; which copies are nearest is decided
    by the noise, so the second number is the one that says whether HNSW finds the right material."""
    _, truth = exact.dense.search(queries, k)
    _, found = approx.dense.search(queries, k)
    same = np.mean([len(set(t) & set(f)) / k for t, f in zip(truth, found)])
    made_from = lambda ids, data: {origin(data.chunks[i].id) for i in ids if i >= 0}
    same_origin = np.mean(
        [
            len(made_from(t, exact) & made_from(f, approx)) / max(1, len(made_from(t, exact)))
            for t, f in zip(truth, found)
        ]
    )
    return float(same), float(same_origin)


def run(sizes: list[int], questions: int = 40) -> dict:
    a = Assistant(notes_dir="notes")
    a.ingest()
    base = a.index
    qs = [q.question for q in load_questions(split="dev") if q.answerable][:questions]
    query_vectors = a.embedder.embed(qs)
    rows = []
    for n in sizes:
        chunks, vectors = synthetic(base, n)
        row = {"chunks": n}
        built = {}
        for kind in ("flat", "hnsw"):
            data, seconds, sizes = build(chunks, vectors, kind, base.manifest)
            retriever = Retriever.from_settings(data, a.embedder, a.settings)
            p50, p95, results = latency(retriever, qs)
            per_chunk = {part: b / n for part, b in sizes.items()}
            row[kind] = {
                "p50_ms": 1000 * p50,
                "p95_ms": 1000 * p95,
                "build_s": seconds,
                "bytes_per_chunk": per_chunk,
                "results": results,
            }
            built[kind] = data
            print(
                f"  {n:>9} chunks {kind:4}: p50 {1000 * p50:6.1f} ms  p95 {1000 * p95:6.1f} ms  build "
                f"{seconds:6.1f} s  {per_chunk}",
                flush=True,
            )
        row["hnsw"]["dense_recall@10"], row["hnsw"]["origin_recall@10"] = dense_recall(
            built["flat"], built["hnsw"], query_vectors
        )
        flat_top, hnsw_top = row["flat"].pop("results"), row["hnsw"].pop("results")
        row["hnsw"]["same_top5_origin"] = float(
            np.mean(
                [
                    len({origin(i) for i in f} & {origin(i) for i in h}) / max(1, len({origin(i) for i in f}))
                    for f, h in zip(flat_top, hnsw_top)
                ]
            )
        )
        rows.append(row)
        del built, chunks, vectors
        gc.collect()
    return {"rows": rows, "questions": len(qs), "candidates": a.settings.candidates, "real_chunks": len(base.chunks)}
