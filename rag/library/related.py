"""The notes related to one: what it links to (`[[wikilinks]]`) and embeds (`![[embeds]]`), what links
to it, and the notes nearest to it in meaning (the mean of each note's chunk vectors in the index).

Ingest turns a wikilink into its text, so the links are read here from the note files, once per
version of a note: `links.json` beside the index keeps each note's links under the SHA-256 the
manifest gives it, and only notes whose hash changed are read again. Nothing is re-embedded.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np

from ingest.chunking import Chunk
from ingest.markdown import EMBED, FENCE, WIKILINK
from ingest.store import IndexData
from rag.answer.retrieve import resolve_sources
from rag.errors import BadRequest

LINKS_FILE = "links.json"
LINKS_VERSION = 2  # a change to what read_links finds must bump this: every note is read again
LINKED_KINDS = (".md", ".txt")  # PDFs carry no wikilinks
NOTE_SUFFIXES = {"", ".md", ".txt", ".pdf"}  # a link to anything else (a pasted image) is an attachment
SHARED_TERMS = 3


@dataclass
class RelatedNote:
    source: str
    relation: str  # "links to" | "embeds" | "linked from" | "close in meaning"
    reason: str
    score: float | None = None  # cosine of the two notes' mean vectors ("close in meaning" only)
    shared: list[str] = field(default_factory=list)  # the rarest words both notes use often


@dataclass
class Related:
    note: str
    related: list[RelatedNote]
    unresolved: list[str]  # link targets that name no note in the folder

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class _Links:
    links: list[str]
    embeds: list[str]
    lines: list[tuple[int, str]]  # (line number, target) of each link and embed


def read_links(text: str) -> _Links:
    """Link and embed targets of a note, outside code blocks, without `#heading` or `|alias`, and the
    line each is on (1-based, as a chunk's line span counts): a passage's own links are those in its span."""
    links: list[str] = []
    embeds: list[str] = []
    lines: list[tuple[int, str]] = []
    in_code = False
    target = lambda t: t.split("#", 1)[0].strip().rstrip("/")
    for number, line in enumerate(text.split("\n"), 1):
        if FENCE.match(line):
            in_code = not in_code
        if in_code:
            continue
        found_embeds = EMBED.findall(line)
        found_links = [m.group(1) for m in WIKILINK.finditer(EMBED.sub("", line))]
        embeds += found_embeds
        links += found_links
        lines += [(number, t) for t in dict.fromkeys(map(target, found_embeds + found_links)) if t]
    return _Links(
        [t for t in dict.fromkeys(map(target, links)) if t], [t for t in dict.fromkeys(map(target, embeds)) if t], lines
    )


def _cached_links(data: IndexData, index_dir: Path) -> dict[str, _Links]:
    """Every text note's links, read again only for notes whose manifest hash changed."""
    path = index_dir / LINKS_FILE
    try:
        saved = json.loads(path.read_text())
    except (OSError, ValueError):
        saved = {}
    cache = saved.get("notes", {}) if saved.get("version") == LINKS_VERSION else {}
    notes = Path(data.manifest.notes_dir)
    fresh: dict[str, dict] = {}
    for source, entry in data.manifest.files.items():
        if Path(source).suffix.lower() not in LINKED_KINDS:
            continue
        kept = cache.get(source)
        if not kept or kept.get("sha256") != entry.sha256:
            try:
                found = read_links((notes / source).read_text(errors="replace"))
            except OSError:  # gone since the ingest: the next ingest drops it
                continue
            kept = {"sha256": entry.sha256, **asdict(found)}
        fresh[source] = kept
    if fresh != cache:
        _write_atomically(path, {"version": LINKS_VERSION, "notes": fresh})
    return {s: _Links(v["links"], v["embeds"], [tuple(at) for at in v["lines"]]) for s, v in fresh.items()}


def _write_atomically(path: Path, data: dict) -> None:
    try:
        with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False) as f:
            json.dump(data, f)
        os.replace(f.name, path)
    except OSError:  # a read-only index still answers; the links are read again next time
        pass


class NoteGraph:
    """Links, backlinks and note vectors of one index generation."""

    def __init__(self, data: IndexData, index_dir: Path):
        self.data = data
        self.sources = sorted(data.manifest.files)
        self._by_name = self._names()
        self.unresolved: dict[str, list[str]] = {}
        self.outgoing: dict[str, list[tuple[str, str]]] = {}  # note -> [(target note, "links to" | "embeds")]
        self.lines: dict[str, list[tuple[int, str]]] = {}  # note -> [(line, note linked or embedded there)]
        for source, found in _cached_links(data, index_dir).items():
            for relation, targets in (("links to", found.links), ("embeds", found.embeds)):
                for target in targets:
                    self._link(source, target, relation)
            at = [(line, self._find(target)) for line, target in found.lines]
            self.lines[source] = [(line, note) for line, note in at if note not in (None, source)]
        self.vectors, self.terms = self._note_vectors()

    def _names(self) -> dict[str, str]:
        """What a link may call a note (as Obsidian resolves it: any case, with or without the extension,
        by path or file name) -> the note; a shorter path wins a clash, as in Obsidian."""
        names: dict[str, str] = {}
        for source in sorted(self.sources, key=lambda s: (s.count("/"), s)):
            path = PurePosixPath(source)
            for name in (source, path.with_suffix("").as_posix(), path.name, path.stem):
                names.setdefault(name.lower(), source)
        return names

    def _link(self, source: str, target: str, relation: str) -> None:
        if PurePosixPath(target).suffix.lower() not in NOTE_SUFFIXES:
            return  # an image or other attachment, not a note
        found = self._find(target)
        if found is None:
            self.unresolved.setdefault(source, []).append(target)
        elif found != source and (found, relation) not in self.outgoing.get(source, []):
            self.outgoing.setdefault(source, []).append((found, relation))

    def _find(self, target: str) -> str | None:
        return self._by_name.get(target.lower().removeprefix("./"))

    def passage_links(self, chunk: Chunk) -> list[str]:
        """The notes a passage links to or embeds: the links on the lines of its span."""
        at = self.lines.get(chunk.source, [])
        return list(dict.fromkeys(note for line, note in at if chunk.line_start <= line <= chunk.line_end))

    def _note_vectors(self) -> tuple[dict[str, np.ndarray], dict[str, Counter]]:
        """Each note's mean chunk vector (normalised) and its word counts."""
        import bm25s

        vectors = self.data.vectors()
        rows: dict[str, list[int]] = {}
        for i, chunk in enumerate(self.data.chunks):
            rows.setdefault(chunk.source, []).append(i)
        means = {}
        for source, ids in rows.items():
            mean = vectors[ids].mean(axis=0)
            means[source] = mean / (np.linalg.norm(mean) or 1.0)
        texts = {s: " ".join(self.data.chunks[i].text for i in ids) for s, ids in rows.items()}
        tokens = bm25s.tokenize(list(texts.values()), stopwords="en", return_ids=False, show_progress=False)
        words = {s: Counter(w for w in t if len(w) > 3 and w.isalpha()) for s, t in zip(texts, tokens)}
        return means, words

    def shared_terms(self, a: str, b: str) -> list[str]:
        """The words both notes use that are rarest across the notes, weighted by how often both use them;
        a word every note uses ("data", "what") says nothing about these two."""
        both = self.terms[a].keys() & self.terms[b].keys()
        spread = Counter(w for counts in self.terms.values() for w in counts if w in both)
        weight = {w: min(self.terms[a][w], self.terms[b][w]) * math.log(len(self.terms) / spread[w]) for w in both}
        return [w for w in sorted(both, key=lambda w: (-weight[w], w)) if weight[w] > 0][:SHARED_TERMS]

    def related(self, note: str, k: int) -> Related:
        linked = [RelatedNote(t, relation, relation) for t, relation in self.outgoing.get(note, [])]
        linked += [
            RelatedNote(s, "linked from", "linked from")
            for s, targets in sorted(self.outgoing.items())
            if s != note and any(t == note for t, _ in targets)
        ]
        seen = {note, *(r.source for r in linked)}
        return Related(note, linked + self._closest(note, k, seen), self.unresolved.get(note, []))

    def _closest(self, note: str, k: int, seen: set[str]) -> list[RelatedNote]:
        if note not in self.vectors:
            return []
        others = [s for s in self.vectors if s not in seen]
        scores = {s: float(self.vectors[note] @ self.vectors[s]) for s in others}
        found = []
        for source in sorted(others, key=lambda s: -scores[s])[:k]:
            shared = self.shared_terms(note, source)
            words = f", shares {', '.join(repr(w) for w in shared)}" if shared else ""
            reason = f"close in meaning: {scores[source]:.2f}{words}"
            found.append(RelatedNote(source, "close in meaning", reason, round(scores[source], 3), shared))
        return found


def one_note(data: IndexData, name: str) -> str:
    """The note `name` stands for (its file name, path in the notes folder or from here); a folder or an
    unknown name is a BadRequest."""
    notes = resolve_sources(data, [name]) or []
    if len(notes) != 1:
        listed = ", ".join(notes[:3]) + (", …" if len(notes) > 3 else "")
        raise BadRequest(f"{name!r} names {len(notes)} notes ({listed}); name one of them by its path")
    return notes[0]
