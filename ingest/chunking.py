"""Sections to `Chunk`s of bounded size.

Sections are cut into blocks first (paragraphs, and fenced code or `$$` formulas whole), then blocks
are packed up to the token budget with a little overlap. Generic sentence splitters cut inside code and
formulas, which ruins both the embedding and the excerpt a user reads.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from ingest.documents import Document
from ingest.markdown import FENCE
from ingest.ocr import IMAGE_HEADING
from ingest.sections import Section, sections

# Bumped whenever the same notes and settings would be cut or indexed differently: an index built by
# another version is re-split and re-embedded on the next ingest.
# 4: headings keep a lone * or _ ("π^*", "n_estimators"); 5: a title repeated as the first heading is said
# once, and a section's tiny tail joins the chunk before it; 6: the keyword index reads "_Dropout layers_"
# as dropout layers (ingest/store.py)
CHUNKER_VERSION = 6

# ~100-token chunks: MiniLM was trained on short texts, and 80-112 tokens scored best on the tuning
# questions while 128-200 lost answers to long neighbours (README, "Retrieval quality")
CHUNK_TOKENS = 96
OVERLAP_TOKENS = 24

SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'*])")


@dataclass
class Chunk:
    id: str
    source: str
    title: str
    heading_path: list[str]
    line_start: int
    line_end: int
    text: str
    tags: list[str] = field(default_factory=list)
    metadata: dict = field(default_factory=dict)

    @property
    def heading(self) -> str:
        return " > ".join([self.title, *self.heading_path])

    @property
    def embed_text(self) -> str:
        # The heading path goes into what is embedded and indexed so a chunk is found by the topic it
        # sits under, even when its own words never name it.
        return f"{self.heading}\n{self.text}"


@dataclass
class _Block:
    lines: list[str]
    start: int  # index into the section's lines
    tokens: int
    partial: bool = False  # starts inside a line cut because it was over the budget on its own


def _blocks(section: Section, count: Callable[[str], int]) -> list[_Block]:
    blocks: list[_Block] = []
    current: list[str] = []
    begin = 0
    atomic: str | None = None  # "code" or "math" while inside one

    def flush() -> None:
        nonlocal current
        if any(line.strip() for line in current):
            text = "\n".join(current)
            blocks.append(_Block(current, begin, count(text)))
        current = []

    for i, line in enumerate(section.lines):
        opens_code = bool(FENCE.match(line))
        opens_math = line.strip().startswith("$$") and not (line.strip().endswith("$$") and len(line.strip()) > 2)
        if atomic is None and (opens_code or opens_math):
            flush()
            begin = i
            atomic = "code" if opens_code else "math"
            current = [line]
            continue
        if atomic is not None:
            current.append(line)
            if (atomic == "code" and opens_code) or (atomic == "math" and line.strip().endswith("$$")):
                atomic = None
                flush()
                begin = i + 1
            continue
        if not line.strip():
            flush()
            begin = i + 1
            continue
        if not current:
            begin = i
        current.append(line)
    flush()
    return blocks


def _split_oversized(block: _Block, limit: int, count: Callable[[str], int]) -> list[_Block]:
    """A block over the budget is cut at lines, then at sentences, then at words."""
    if block.tokens <= limit:
        return [block]
    out: list[_Block] = []
    for offset, line in enumerate(block.lines):
        tokens = count(line)
        if tokens <= limit:
            out.append(_Block([line], block.start + offset, tokens))
            continue
        pieces = SENTENCE_END.split(line)
        if max(count(p) for p in pieces) > limit:
            words = line.split()
            step = max(1, len(words) * limit // (tokens + 1))
            pieces = [" ".join(words[i : i + step]) for i in range(0, len(words), step)]
        out.extend(_Block([p], block.start + offset, count(p), partial=n > 0) for n, p in enumerate(pieces))
    return _merge(out, limit)


def _merge(blocks: list[_Block], limit: int) -> list[_Block]:
    """Glue neighbouring small pieces of one split block back together up to the budget."""
    merged: list[_Block] = []
    for b in blocks:
        if merged and merged[-1].tokens + b.tokens <= limit:
            last = merged[-1]
            lines = (
                last.lines[:-1] + [f"{last.lines[-1]} {b.lines[0]}"] + b.lines[1:]
                if b.partial
                else last.lines + b.lines
            )
            merged[-1] = _Block(lines, last.start, last.tokens + b.tokens, last.partial)
        else:
            merged.append(b)
    return merged


@dataclass
class _Piece:
    path: list[str]
    text: str
    start: int
    end: int
    tokens: int
    partial: bool = False  # see _Block


def _merge_small(pieces: list[_Piece], chunk_tokens: int) -> list[_Piece]:
    """A fragment (a heading with two lines under it) joins its parent or child section when both fit
    one chunk: alone it is too thin to embed well and too short to answer from. Siblings stay apart:
    slides merged across titles ("overfitting", "data requirements", "gradient descent") embedded as a
    blur that matched none of them, and their merged heading path was empty."""
    small = chunk_tokens // 4
    merged: list[_Piece] = []
    for piece in pieces:
        last = merged[-1] if merged else None
        related = last is not None and (
            last.path[: len(piece.path)] == piece.path or piece.path[: len(last.path)] == last.path
        )
        # a heading belongs over the text after it: appended to the end of its parent's last paragraph it
        # names that paragraph after the wrong topic
        related = related and _has_body(piece.text)
        # an image's text stays apart, under its name, however short: a hit on it says which picture
        related = related and not any(p.path and p.path[-1].startswith(IMAGE_HEADING) for p in (last, piece))
        if related and (last.tokens < small or piece.tokens < small) and last.tokens + piece.tokens <= chunk_tokens:
            # the larger part names the chunk: a parent's title line over a child's body is the child's
            path = max(last, piece, key=lambda p: p.tokens).path
            text = _continue(last.text, piece.text, piece.partial)
            merged[-1] = _Piece(path, text, last.start, piece.end, last.tokens + piece.tokens, last.partial)
        else:
            merged.append(piece)
    return merged


def chunk_document(
    doc: Document,
    count_tokens: Callable[[str], int],
    chunk_tokens: int = CHUNK_TOKENS,
    overlap_tokens: int = OVERLAP_TOKENS,
) -> list[Chunk]:
    pieces: list[_Piece] = []
    for section in sections(doc):
        heading = " > ".join([doc.title, *section.path])
        budget = max(32, chunk_tokens - count_tokens(heading))
        blocks = [p for b in _blocks(section, count_tokens) for p in _split_oversized(b, budget, count_tokens)]
        for group in _pack(blocks, budget, overlap_tokens, chunk_tokens // 4):
            last = group[-1]
            pieces.append(
                _Piece(
                    path=list(section.path),
                    text=_join(group),
                    start=section.start + group[0].start,
                    end=section.start + last.start + len(last.lines) - 1,
                    tokens=sum(b.tokens for b in group),
                    partial=group[0].partial,
                )
            )
    chunks: list[Chunk] = []
    seen: dict[str, int] = {}
    for piece in _merge_small(pieces, chunk_tokens):
        if not _has_body(piece.text):
            continue  # a heading over an image or nothing: no words to retrieve or answer from
        heading = " > ".join([doc.title, *piece.path])
        digest = hashlib.sha1(f"{doc.source}\n{heading}\n{piece.text}".encode()).hexdigest()[:16]
        seen[digest] = seen.get(digest, 0) + 1
        chunks.append(
            Chunk(
                id=digest if seen[digest] == 1 else f"{digest}-{seen[digest]}",
                source=doc.source,
                title=doc.title,
                heading_path=piece.path,
                line_start=piece.start,
                line_end=piece.end,
                text=piece.text,
                tags=list(doc.tags),
                metadata=dict(doc.metadata),
            )
        )
    return chunks


def _continue(text: str, more: str, partial: bool) -> str:
    # the rest of a cut line follows with a space, so the chunk's text reads as the note does
    sep = " " if partial else "\n\n"
    return f"{text}{sep}{more}"


def _join(group: list[_Block]) -> str:
    text = "\n".join(group[0].lines)
    for block in group[1:]:
        text = _continue(text, "\n".join(block.lines), block.partial)
    return text.strip()


def _is_display(block: _Block) -> bool:
    first = block.lines[0].strip()
    return first.startswith("$$") or bool(FENCE.match(first))


def _has_body(text: str) -> bool:
    return any(line.strip() and not line.lstrip().startswith("#") for line in text.splitlines())


def _pack(blocks: list[_Block], budget: int, overlap: int, tail: int) -> list[list[_Block]]:
    groups: list[list[_Block]] = []
    current: list[_Block] = []
    size = 0
    for block in blocks:
        # a display formula or code block stays with the paragraph before it, and a heading with the
        # paragraph after it, up to twice the budget: alone neither has words to be found by
        follows = _is_display(block) or not _has_body("\n".join(line for b in current for line in b.lines))
        limit = 2 * budget if current and follows else budget
        if current and size + block.tokens > limit:
            groups.append(current)
            carried: list[_Block] = []
            carried_size = 0
            for prev in reversed(current):
                if carried_size + prev.tokens > overlap or carried_size + prev.tokens + block.tokens > budget:
                    break
                carried.insert(0, prev)
                carried_size += prev.tokens
            current, size = carried, carried_size
        current.append(block)
        size += block.tokens
    if current:
        groups.append(current)
    return _fold_tail(groups, tail)


def _fold_tail(groups: list[list[_Block]], tail: int) -> list[list[_Block]]:
    """A section's last few words (a closing remark, the end of a cut line) join the chunk before it,
    over the budget. Alone they made a chunk whose embedding was mostly its heading, and it outranked the
    passage it ends for any question naming the topic ("dropout": a one-line chunk, score 1.0). Even
    after a display block (twice the budget) the chunk stays inside MiniLM's 256-token window."""
    if len(groups) < 2:
        return groups
    before, last = groups[-2], groups[-1]
    new = [b for b in last if not any(b is carried for carried in before)]  # the overlap is there already
    if sum(b.tokens for b in new) >= tail:
        return groups
    return [*groups[:-2], before + new]
