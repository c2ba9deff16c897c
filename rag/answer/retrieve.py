"""Dense (FAISS) and BM25 retrieval over the on-disk index, fused.

Default fusion is a convex mix of min-max normalised scores with every candidate scored by both
retrievers; it beat reciprocal-rank fusion on the dev questions because a retriever that is sure of a
chunk (an acronym only BM25 knows) can carry it alone (README, "Retrieval quality"). RRF stays an option.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ingest.chunking import Chunk
from ingest.embed import Embedder
from ingest.store import IndexData, bm25_tokenize
from rag.errors import BadRequest
from rag.types import Hit

LINKS_FOLLOWED_FROM = 3  # hits whose passages' links are followed (`follow_links`)


def resolve_sources(data: IndexData, given: list[str] | None) -> list[str] | None:
    """Each `--source` as the notes it names: a note's path in the notes folder (deep/attention.md), a
    path to it from here, its file name with or without the extension (attention.md, attention), or a
    folder (deep). A name nothing matches is a BadRequest listing the closest names: a typo must not
    read as "nothing in the notes matches"."""
    if not given:
        return None
    files = sorted(data.manifest.files)
    notes = Path(data.manifest.notes_dir)
    found: list[str] = []
    for name in given:
        rel = _relative(name, notes)
        matches = [f for f in files if rel in _names(f) or f.startswith(rel + "/")]
        if not matches:
            # every name a note or folder answers to, shown as the note's path (or the folder's)
            names = {str(p): f"{p}/" for f in files for p in Path(f).parents if p != Path(".")}
            names |= {n: f for f in files for n in _names(f)}
            hint = _closest(rel, names) or f"notes are named like {', '.join(files[:3])}"
            raise BadRequest(f"no note or folder {name!r} in the notes; {hint}")
        found += matches
    return list(dict.fromkeys(found))


def _names(source: str) -> tuple[str, ...]:
    """What a note answers to: its path in the notes folder, with or without the extension (as an
    Obsidian link writes it), and its file name, likewise."""
    path = Path(source)
    return source, path.with_suffix("").as_posix(), path.name, path.stem


def _relative(name: str, notes: Path) -> str:
    """`name` relative to the notes folder when it is a path into it (absolute, or from the working
    directory: what a shell completes); else as given, without ./ and a trailing slash."""
    path = Path(name).expanduser()
    if path.is_absolute() or path.exists():
        try:
            return path.resolve().relative_to(notes.resolve()).as_posix()
        except ValueError:
            pass
    return path.as_posix().removeprefix("./").rstrip("/")


def resolve_tags(data: IndexData, given: list[str] | None) -> list[str] | None:
    """Each `--tag` (with or without #, any case) checked against the tags the notes have."""
    if not given:
        return None
    known = sorted({t.lower() for c in data.chunks for t in c.tags})
    wanted = [t.strip().lstrip("#").lower() for t in given]
    for tag in wanted:
        if tag not in known:
            hint = _closest(tag, dict(zip(known, known))) or (
                f"the tags are {', '.join(known[:10])}" if known else "the notes have no tags"
            )
            raise BadRequest(f"no note has the tag {tag!r}; {hint}")
    return wanted


def _closest(name: str, names: dict[str, str]) -> str:
    """ "closest: …" with up to three of what the names nearest to `name` stand for, or "": first the
    names holding it (`accenture` for accenture-interview-prep.md, too short for difflib), shortest first."""
    holding = sorted((n for n in names if name and name.lower() in n.lower()), key=len)
    close = dict.fromkeys(names[n] for n in [*holding, *difflib.get_close_matches(name, list(names), n=10)])
    return f"closest: {', '.join(list(close)[:3])}" if close else ""


class Retriever:
    def __init__(
        self,
        data: IndexData,
        embedder: Embedder,
        candidates: int = 50,
        fusion: str = "weighted",
        rrf_k: int = 60,
        dense_weight: float = 0.7,
        bm25_weight: float = 0.3,
        links: Callable[[Chunk], list[str]] | None = None,
    ):
        self.data = data
        self.embedder = embedder
        self.candidates = candidates
        self.fusion = fusion
        self.rrf_k = rrf_k
        self.dense_weight = dense_weight
        self.bm25_weight = bm25_weight
        self.links = links  # the notes a passage links to: followed when given (`follow_links`)

    @classmethod
    def from_settings(
        cls, data: IndexData, embedder: Embedder, settings, links: Callable[[Chunk], list[str]] | None = None
    ) -> Retriever:
        s = settings
        return cls(data, embedder, s.candidates, s.fusion, s.rrf_k, s.dense_weight, s.bm25_weight, links)

    def _allowed(self, sources: list[str] | None, tags: list[str] | None) -> np.ndarray | None:
        if not sources and not tags:
            return None
        wanted_tags = {t.lstrip("#").lower() for t in tags or []}
        wanted_sources = set(sources or [])
        return np.array(
            [
                (not sources or c.source in wanted_sources)
                and (not wanted_tags or bool(wanted_tags & {t.lower() for t in c.tags}))
                for c in self.data.chunks
            ],
            dtype=bool,
        )

    def dense(self, query: np.ndarray, n: int, allowed: np.ndarray | None = None) -> dict[int, float]:
        """Chunk number -> cosine similarity with the query vector, best first."""
        import faiss

        if n <= 0:
            return {}
        params = None
        if allowed is not None:
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(np.flatnonzero(allowed).astype("int64")))
        scores, ids = self.data.dense.search(query[None, :], n, params=params)
        return {int(i): float(s) for i, s in zip(ids[0], scores[0]) if i >= 0}

    def bm25(self, tokens: list[str], n: int, allowed: np.ndarray | None = None) -> dict[int, float]:
        """Chunk number -> BM25 score, best first; chunks sharing no term with the question are left out."""
        if n <= 0 or not tokens:
            return {}
        docs, scores = self.data.bm25.retrieve(
            [tokens],
            k=n,
            show_progress=False,
            weight_mask=None if allowed is None else allowed.astype(np.float32),
        )
        return {int(d): float(s) for d, s in zip(docs[0], scores[0]) if s > 0}

    def _complete(
        self, query: np.ndarray, tokens: list[str], dense: dict[int, float], lexical: dict[int, float]
    ) -> None:
        """Score every candidate under both retrievers: a chunk only one of them ranked would
        otherwise count as zero for the other, however close it came."""
        union = list(dict.fromkeys([*dense, *lexical]))
        missing_dense = [i for i in union if i not in dense]
        if missing_dense:
            vectors = np.vstack([self.data.dense.reconstruct(i) for i in missing_dense])
            dense.update(zip(missing_dense, (vectors @ query).tolist()))
        missing_lexical = [i for i in union if i not in lexical]
        if missing_lexical and tokens:
            known = [t for t in tokens if t in self.data.bm25.vocab_dict]
            if known:
                scores = self.data.bm25.get_scores(known)
                lexical.update((i, float(scores[i])) for i in missing_lexical)

    def _fuse(self, dense: dict[int, float], lexical: dict[int, float]) -> dict[int, float]:
        if self.fusion == "weighted":
            # min-max per list, then a convex mix: a retriever that is sure (a large score gap) can win
            # on its own, which rank-only fusion cannot express
            total = self.dense_weight + self.bm25_weight
            fused: dict[int, float] = {}
            for scores, weight in ((dense, self.dense_weight / total), (lexical, self.bm25_weight / total)):
                if not scores:
                    continue
                lo, hi = min(scores.values()), max(scores.values())
                for i, value in scores.items():
                    fused[i] = fused.get(i, 0.0) + weight * ((value - lo) / (hi - lo) if hi > lo else 1.0)
            return fused
        fused = {}
        for scores, weight in ((dense, self.dense_weight), (lexical, self.bm25_weight)):
            for rank, i in enumerate(scores, 1):
                fused[i] = fused.get(i, 0.0) + weight / (self.rrf_k + rank)
        return fused

    def search(
        self, question: str, k: int = 5, sources: list[str] | None = None, tags: list[str] | None = None
    ) -> list[Hit]:
        total = len(self.data.chunks)
        if not total or not question.strip():
            return []
        allowed = self._allowed(sources, tags)
        pool = int(allowed.sum()) if allowed is not None else total
        n = min(max(self.candidates, k), pool)
        # the question is embedded and tokenized once; completion below reuses both
        query = self.embedder.embed_query(question) if self.fusion != "bm25" else None
        tokens = bm25_tokenize([question])[0] if self.fusion != "dense" else []
        dense = self.dense(query, n, allowed) if query is not None else {}
        lexical = self.bm25(tokens, n, allowed) if self.fusion != "dense" else {}
        dense_rank = {i: r for r, i in enumerate(dense, 1)}
        bm25_rank = {i: r for r, i in enumerate(lexical, 1)}
        if self.fusion == "weighted":
            self._complete(query, tokens, dense, lexical)
        scores = self._fuse(dense, lexical)
        best = sorted(scores, key=lambda i: (-scores[i], dense_rank.get(i, n + 1)))[:k]
        if self.links is not None:
            best = self._follow_links(best, scores, question, query, allowed)
        notes = Path(self.data.manifest.notes_dir)
        return [
            Hit(
                chunk=self.data.chunks[i],
                score=scores[i],
                rank=rank,
                dense_rank=dense_rank.get(i),
                bm25_rank=bm25_rank.get(i),
                path=str(notes / self.data.chunks[i].source),
            )
            for rank, i in enumerate(best, 1)
        ]

    def _follow_links(
        self,
        best: list[int],
        scores: dict[int, float],
        question: str,
        query: np.ndarray | None,
        allowed: np.ndarray | None,
    ) -> list[int]:
        """The top hits with, below them, the passage closest to the question of each note the first
        hits' own passages link to (and that no hit is from yet), in place of the last hits: at most half
        of them, so the question's best passages stay. A linked passage scores no more than the hit above."""
        chunks = self.data.chunks
        have = {chunks[i].source for i in best}
        notes = [n for i in best[:LINKS_FOLLOWED_FROM] for n in self.links(chunks[i]) if n not in have]
        linked = []
        for note in list(dict.fromkeys(notes))[: len(best) // 2]:
            ids = [i for i, c in enumerate(chunks) if c.source == note and (allowed is None or allowed[i])]
            if ids:
                if query is None:  # bm25-only fusion embedded nothing
                    query = self.embedder.embed_query(question)
                vectors = np.vstack([self.data.dense.reconstruct(i) for i in ids])
                linked.append(ids[int(np.argmax(vectors @ query))])
        kept = best[: len(best) - len(linked)]
        floor = scores[kept[-1]] if kept else 0.0
        for i in linked:
            scores[i] = min(scores.get(i, 0.0), floor)
        return kept + linked
