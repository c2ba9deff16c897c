"""Training pairs for the reader (issue #24): (question, candidate sentence, 1 if it states the answer).

A question's candidates are what the answer path sees: the units (`evidence.split_units`) of the passages
`Assistant.retrieve` returns (top_k), plus every unit of the chunks holding an answer quote, so that each
positive is a candidate, plus the units that match an annotated near miss (the hardest negatives). Each is
written as the reader reads it (`rag.answer.reader.candidate_text`).

The split is by note and topic, never by pair: one whole note of each extra collection, and the questions of
~15% of the shipped notes' top-level sections, are validation; a training pair whose candidate comes from
one of those notes or sections is dropped, so validation reads text the model never trained on.

    python -m training.reader_pairs      # writes training/data/reader_pairs.jsonl, prints the counts
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LABELS = ROOT / "training" / "labels"
OUT = ROOT / "training" / "data" / "reader_pairs.jsonl"
COLLECTIONS = {
    "shipped": ROOT / "notes",
    "slides": ROOT / "training" / "collections" / "slides",
    "terse": ROOT / "training" / "collections" / "terse",
}
# one whole note of each extra collection is validation, on a topic no other note covers (the slides on
# evaluation would not do: terse/eval-metrics.md, a training note, says much the same)
VAL_NOTES = {"slides": "lec09-recommender-systems.md", "terse": "graph-ml.md"}
VAL_SHARE = 0.15  # of the shipped questions, by top-level section

MARKDOWN = re.compile(r"\*|_|`|\[\[|\]\]")
LINE_MARK = re.compile(r"^\s*(?:#{1,6}\s|[-*+•]\s|\d+[.)]\s)", re.MULTILINE)
WORD = re.compile(r"\w+")
# words: a quote this long names a claim wherever it stands; a unit this long is a claim of its own
SHORT_QUOTE, SHORT_UNIT = 6, 4


@dataclass
class Question:
    id: str
    collection: str
    question: str
    source: str | None
    quotes: list[str]
    near_misses: list[str]


@dataclass
class Candidate:
    hit: object  # rag.types.Hit
    position: int  # the unit's place in its passage (evidence.Unit.position)
    unit: str
    text: str  # what the reader reads
    retrieved: bool  # among the top_k passages, not added for its quote


@cache
def words(text: str) -> tuple[str, ...]:
    """Whitespace (U+00A0 too), Markdown markers and line marks dropped; compared word by word so that
    "rate" never matches inside "accurate"."""
    text = LINE_MARK.sub("", text.replace("\u00a0", " "))
    return tuple(WORD.findall(MARKDOWN.sub(" ", text).casefold()))


def quote_parts(quote: str, home: str | None) -> tuple[str | None, str]:
    """The file a quote is in ("file.md::text" names another file of the collection) and its text."""
    if m := re.match(r"^([\w.-]+\.(?:md|txt))::", quote):
        return m.group(1), quote[m.end() :]
    return home, quote


def find(part: tuple, whole: tuple, start: int = 0) -> int:
    """Where the words `part` begin in `whole` at or after `start`; -1 when they do not."""
    return next((i for i in range(start, len(whole) - len(part) + 1) if whole[i : i + len(part)] == part), -1)


def edge_overlap(unit: tuple, quote: tuple) -> int:
    """Words shared by one's end and the other's start: a quote running over a unit boundary."""
    most = min(len(unit), len(quote))
    return max((k for k in range(1, most + 1) if unit[:k] == quote[-k:] or unit[-k:] == quote[:k]), default=0)


def cells_in_order(unit: tuple, cells: list[tuple]) -> bool:
    """A quoted table row ("gates | 0 | 3 | 2") in the unit its row became ("gates; LSTM: 3; GRU: 2")."""
    at = 0
    for cell in cells:
        if (at := find(cell, unit, at)) < 0:
            return False
        at += len(cell)
    return True


def matches(unit: tuple, quote: str, same_file: bool) -> bool:
    """A unit states a quote when it holds it or is a piece of it. A short quote or unit ("class
    imbalance", "Random Forest") says too little to be placed by its words alone, and so does a table
    row: they count only in the quote's own file."""
    if " | " in quote and "$" not in quote:  # a "|" inside a formula is mathematics
        cells = [c for c in map(words, quote.split("|")) if c]
        return same_file and len(cells) > 1 and cells_in_order(unit, cells)
    said = words(quote)
    if not unit or not said:
        return False
    short = len(said) < SHORT_QUOTE or len(unit) < SHORT_UNIT
    if find(said, unit) >= 0 or find(unit, said) >= 0:
        return same_file or not short
    k = edge_overlap(unit, said)  # a quote running over a unit boundary must cover most of the unit
    return k >= 3 and k >= 0.6 * len(unit) and same_file


def label(unit: str, source: str, quotes: list[str], home: str | None) -> bool:
    """Does `unit` (of note `source`) state one of `quotes` (of note `home` unless they name another)?"""
    mine = words(unit)
    return any(matches(mine, text, file in (None, source)) for file, text in (quote_parts(q, home) for q in quotes))


class Collection:
    """A collection ingested into a temporary index with the project's own API."""

    def __init__(self, name: str, index_root: Path):
        from rag import Assistant
        from rag.answer.evidence import split_units

        self.assistant = Assistant(notes_dir=COLLECTIONS[name], index_dir=index_root / name)
        self.assistant.ingest()
        self.chunks = self.assistant.index.chunks
        self.units = {c.id: split_units(c.text) for c in self.chunks}

    def passages(self, q: Question) -> tuple[list, int]:
        """The retrieved passages (top_k), then those holding a quote or a near miss; and how many were retrieved."""
        from rag.types import Hit

        hits = self.assistant.retrieve(q.question)
        retrieved = len(hits)
        seen = {h.chunk_id for h in hits}
        wanted = q.quotes + q.near_misses
        for c in self.chunks:
            if c.id not in seen and any(label(u, c.source, wanted, q.source) for u in self.units[c.id]):
                hits.append(Hit(chunk=c, score=0.0, rank=len(hits) + 1))
                seen.add(c.id)
        return hits, retrieved

    def candidates(self, q: Question, passages: tuple[list, int] | None = None) -> list[Candidate]:
        """Every unit of a retrieved passage or of one holding a quote; of the rest, the near misses."""
        from rag.answer.reader import passage_candidates

        hits, retrieved = passages or self.passages(q)
        out: dict[str, Candidate] = {}  # overlapping chunks repeat units: the best-ranked copy stays
        for hit in hits:
            units = self.units[hit.chunk_id]
            whole = hit.rank <= retrieved or any(label(u, hit.source, q.quotes, q.source) for u in units)
            for i, (unit, text) in enumerate(zip(units, passage_candidates(hit.heading, units))):
                if (whole or label(unit, hit.source, q.near_misses, q.source)) and text not in out:
                    out[text] = Candidate(hit, i, unit, text, hit.rank <= retrieved)
        return list(out.values())


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def load_questions(name: str) -> list[Question]:
    if name != "shipped":
        return [
            Question(
                r["id"], name, r["question"], r["source"], r.get("answer_quotes") or [], r.get("near_misses") or []
            )
            for r in read_jsonl(LABELS / f"{name}_questions.jsonl")
        ]
    labels = {r["id"]: r for f in sorted(LABELS.glob("shipped_*.jsonl")) for r in read_jsonl(f)}
    return [
        Question(
            r["id"],
            name,
            r["question"],
            r["source"],
            labels[r["id"]]["answer_quotes"] if r["answerable"] else [],
            labels[r["id"]].get("near_misses", []) if r["answerable"] else [],
        )
        for r in read_jsonl(ROOT / "eval" / "datasets" / "notes_qa.jsonl")
    ]


def topic(collection: str, chunk) -> tuple:
    """What validation is split by: a note of an extra collection, a top-level section of a shipped one."""
    if collection != "shipped":
        return (collection, chunk.source)
    return (collection, chunk.source, chunk.heading_path[0] if chunk.heading_path else chunk.title)


def stable_hash(text: str) -> int:
    return int(hashlib.sha1(text.encode()).hexdigest()[:8], 16)


def question_topic(q: Question, candidates: list[Candidate]) -> tuple | None:
    """Where its answer is (the first positive, in its own note if it has one there); for an unanswerable
    question, the note of its first near miss when the annotator named one."""
    positives = [c for c in candidates if label(c.unit, c.hit.source, q.quotes, q.source)]
    positives.sort(key=lambda c: c.hit.source != q.source)
    if positives:
        return topic(q.collection, positives[0].hit.chunk)
    named = [m.split("::", 1)[0] for m in q.near_misses if "::" in m]
    return (q.collection, named[0]) if named and q.collection != "shipped" else None


def val_topics(topics: dict[str, tuple | None]) -> set[tuple]:
    """The held-out notes, and shipped sections in a fixed pseudo-random order until ~VAL_SHARE of the
    answerable shipped questions are in them (a section that would overshoot far is passed over)."""
    chosen = {(name, note) for name, note in VAL_NOTES.items()}
    counts = Counter(t for t in topics.values() if t and t[0] == "shipped")
    target = VAL_SHARE * sum(counts.values())
    taken = 0
    for section in sorted(counts, key=lambda t: stable_hash("/".join(t))):
        if taken + counts[section] <= 1.3 * target:
            chosen.add(section)
            taken += counts[section]
        if taken >= target:
            break
    return chosen


def is_val(qid: str, where: tuple | None, chosen: set[tuple]) -> bool:
    # an unanswerable question with nowhere to belong goes by its id
    return where in chosen if where else stable_hash(qid) % 100 < 100 * VAL_SHARE


def pairs_of(q: Question, candidates: list[Candidate], val: bool, chosen: set[tuple]) -> list[dict]:
    rows = []
    for c in candidates:
        where = topic(q.collection, c.hit.chunk)
        if not val and where in chosen:
            continue  # training never reads a validation note or section
        positive = label(c.unit, c.hit.source, q.quotes, q.source)
        rows.append(
            {
                "qid": q.id,
                "collection": q.collection,
                "source": q.source,
                "answerable": bool(q.quotes),
                "question": q.question,
                "candidate": c.text,
                "label": int(positive),
                "near_miss": not positive and label(c.unit, c.hit.source, q.near_misses, q.source),
                "retrieved": c.retrieved,
                "candidate_source": c.hit.source,
                "candidate_section": where[-1],
                "split": "val" if val else "train",
            }
        )
    return rows


def unmatched_quotes(q: Question, collection: Collection) -> list[str]:
    units = [(c.source, u) for c in collection.chunks for u in collection.units[c.id]]
    return [quote for quote in q.quotes if not any(label(u, source, [quote], q.source) for source, u in units)]


def build() -> tuple[list[dict], set[tuple]]:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    found: list[tuple[Question, list[Candidate]]] = []
    with tempfile.TemporaryDirectory(prefix="reader-pairs-") as tmp:
        for name in COLLECTIONS:
            collection = Collection(name, Path(tmp))
            for q in load_questions(name):
                found.append((q, collection.candidates(q)))
                for quote in unmatched_quotes(q, collection):
                    print(f"{q.id}: no unit states {quote[:90]!r}")
    topics = {q.id: question_topic(q, cands) for q, cands in found}
    chosen = val_topics(topics)
    rows = [row for q, cands in found for row in pairs_of(q, cands, is_val(q.id, topics[q.id], chosen), chosen)]
    return rows, chosen


def summary(rows: list[dict]) -> str:
    counts = Counter((r["collection"], r["split"], r["label"]) for r in rows)
    questions = Counter((r["collection"], r["split"], r["answerable"]) for r in {r["qid"]: r for r in rows}.values())
    lines = [
        "| collection | split | questions (answerable / not) | positives | negatives (near misses) |",
        "|---|---|---|---|---|",
    ]
    for name in COLLECTIONS:
        for split in ("train", "val"):
            hard = sum(r["near_miss"] for r in rows if r["collection"] == name and r["split"] == split)
            lines.append(
                f"| {name} | {split} | {questions[name, split, True]} / {questions[name, split, False]} "
                f"| {counts[name, split, 1]} | {counts[name, split, 0]} ({hard}) |"
            )
    return "\n".join(lines)


def main() -> None:
    rows, chosen = build()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    print(summary(rows))
    print("validation topics:", "; ".join(" / ".join(t[1:]) for t in sorted(chosen)))
    print(f"{len(rows)} pairs, {OUT.stat().st_size / 1e6:.1f} MB -> {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
