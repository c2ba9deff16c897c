"""Check the [n] citations in an answer against the blocks the prompt actually gave."""

from __future__ import annotations

import re

from rag.types import Hit, Source

# [1], [1, 3], [1][2], [1-2]
CITATION = re.compile(r"\[(\d+(?:\s*[-,–]\s*\d+)*)\]")


def _numbers(group: str) -> list[int]:
    out: list[int] = []
    for part in re.split(r"\s*,\s*", group):
        bounds = re.split(r"\s*[-–]\s*", part)
        if len(bounds) == 2 and bounds[0].isdigit() and bounds[1].isdigit():
            lo, hi = int(bounds[0]), int(bounds[1])
            out.extend(range(lo, hi + 1) if 0 <= hi - lo < 20 else [lo, hi])
        elif part.isdigit():
            out.append(int(part))
    return out


def check_citations(text: str, n_blocks: int) -> tuple[str, list[int], list[int]]:
    """(text without invalid citations, valid numbers in order of first use, invalid numbers)."""
    valid: list[int] = []
    invalid: list[int] = []

    def replace(match: re.Match) -> str:
        numbers = _numbers(match.group(1))
        good = [n for n in numbers if 1 <= n <= n_blocks]
        for n in numbers:
            bucket = valid if n in good else invalid
            if n not in bucket:
                bucket.append(n)
        return "".join(f"[{n}]" for n in dict.fromkeys(good))

    cleaned = CITATION.sub(replace, text)
    cleaned = re.sub(r"[ \t]+([.,;:])", r"\1", cleaned)
    cleaned = re.sub(r"[ \t]{2,}", " ", cleaned)
    return cleaned, valid, invalid


def strip_citations(text: str) -> str:
    """The text without its [n] marks, and without the space they leave before punctuation."""
    return re.sub(r"[ \t]+([.,;:!?])", r"\1", CITATION.sub("", text)).strip()


def excerpt(text: str, limit: int = 240) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rsplit(" ", 1)[0] + "…"


def sources_for(blocks: list, cited: list[int]) -> list[Source]:
    """Cited blocks first, in the order the answer cites them, then the rest that was retrieved.

    A block is a retrieved `Hit`, or an evidence `Block` (a passage and the sentences of it that were
    chosen); block n is the prompt's [n].
    """
    order = cited + [n for n in range(1, len(blocks) + 1) if n not in cited]
    sources = []
    for n in order:
        hit = getattr(blocks[n - 1], "hit", blocks[n - 1])
        evidence = [u.text for u in getattr(blocks[n - 1], "units", [])]
        sources.append(
            Source(
                n=n,
                source=hit.source,
                heading=hit.heading,
                excerpt=excerpt(" ".join(evidence) or hit.text),
                chunk_id=hit.chunk_id,
                cited=n in cited,
                text=hit.text,
                path=hit.path,
                line_start=hit.chunk.line_start,
                line_end=hit.chunk.line_end,
                evidence=evidence,
            )
        )
    return sources


SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


def attribute(text: str, hits: list[Hit], min_overlap: float = 0.5) -> tuple[str, list[int]]:
    """Cite sentences the model left uncited with the block that shares most of their words.

    Small models rarely cite on their own. A sentence gets [n] only when at least `min_overlap` of its
    content words (stemmed, stop words dropped, as BM25 sees them) occur in block n; a sentence the
    notes do not support stays uncited. Returns the text and the block numbers it added.
    """
    from ingest.store import bm25_tokenize

    if not text.strip() or not hits:
        return text, []
    block_words = [set(words) for words in bm25_tokenize([h.text for h in hits])]
    added: list[int] = []
    out: list[str] = []
    position = 0
    for match in list(SENTENCE.finditer(text)) + [None]:
        end = match.start() if match else len(text)
        sentence = text[position:end]
        separator = match.group(0) if match else ""
        position = match.end() if match else len(text)
        words = set(bm25_tokenize([sentence])[0]) if sentence.strip() else set()
        if words and not CITATION.search(sentence):
            overlap = [len(words & b) / len(words) for b in block_words]
            best = max(range(len(hits)), key=lambda i: overlap[i])
            if overlap[best] >= min_overlap and len(words) >= 3:
                n = best + 1
                sentence = cite(sentence, n)
                if n not in added:
                    added.append(n)
        out.append(sentence + separator)
    return "".join(out), added


def cite(sentence: str, n: int) -> str:
    """The sentence with [n] before its closing punctuation, where the answer's own citations go."""
    stripped = sentence.rstrip()
    if stripped and stripped[-1] in ".!?":
        return f"{stripped[:-1]} [{n}]{stripped[-1]}"
    return f"{stripped} [{n}]"
