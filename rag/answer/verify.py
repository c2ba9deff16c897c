"""Check every sentence of a generated answer against the evidence it was given.

A sentence is supported by a block when the block's passage contains most of the sentence's content
words and every number it states, and the sentence means what one of the block's units says (embedding
cosine). Supported sentences keep a citation to the block that supports them (a wrong `[n]` is
re-pointed, a missing one added); the rest are dropped from the answer and reported. Thresholds were
chosen against hand labels (eval/datasets/answer_labels.jsonl; README, "Answers you can trust").

With a support head (rag/answer/support.py, the `support_check` setting) a block must also hold a sentence,
or two adjacent ones, that the head reads as stating the sentence (`SUPPORT_CUT`).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

import numpy as np

from rag.answer.citations import CITATION, SENTENCE, _numbers, cite, strip_citations
from rag.answer.evidence import NUMBER, Evidence, split_units
from rag.answer.reader import candidate_text, passage_candidates

MIN_SIMILARITY = 0.6  # cosine with the passage's closest unit
NOVEL_WORDS = 1  # content words in neither the passage nor the question: more is the model's own claim
QUOTE_SIMILARITY = 0.8  # this close to a unit is a quote, whatever the words
# the support head's P that a block states the sentence: the highest cut that cost at most 2 points of
# faithful sentences kept on the tuning half of eval/datasets/capable_answers.jsonl (`python -m eval.capable`)
SUPPORT_CUT = 0.07

# What a small model writes when it loses the thread: the prompt's own words, or talk about the task.
PROMPT_ECHO = re.compile(
    r"\b(the user (?:requested|asked|wants|has asked|would like)|user "
    r"requested|cite[sd]?\b|citations?\b|numbered (?:block|note)|"
    r"the notes above|<\/?notes>|question:|rules:|as an ai|i am an ai|block \[?\d)",
    re.IGNORECASE,
)
# "The answer to your question is: Batch normalization…": the lead-in is talk, the rest is the claim
ANSWER_LEAD = re.compile(
    r"^\s*(?:the\s+|my\s+|so,?\s+)?(?:short\s+)?answer(?:\s+to\s+your\s+question)?(?:\s+is)?\s*:\s*", re.IGNORECASE
)
# words about the answer rather than about the notes' subject (stemmed, as `_content` gives them)
TALK = {"answer", "question", "note", "follow", "inform", "user", "ask", "your", "from", "here"}


@dataclass
class Claim:
    text: str  # the sentence, without citations
    supported: bool
    block: int | None  # the block that supports it (what it is cited to)
    score: float  # support strength, 0-1
    outcome: str  # supported | repointed | cited (citation added) | unsupported | degenerate
    cited: list[int]  # what the model cited
    stated: float | None = None  # the support head's best P over the blocks the rule accepts; None: not asked

    def to_json(self) -> dict:
        return asdict(self)


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in SENTENCE.split(text) if s.strip()]


def _content(sentence: str) -> set[str]:
    from ingest.store import bm25_tokenize

    return set(bm25_tokenize([sentence])[0])


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def _degenerate(sentence: str, seen: set[str], headings: set[str], prompt: list[set[str]]) -> bool:
    words = _words(sentence)
    flat = " ".join(words)
    if len(words) < 3 or flat in seen or flat in headings or PROMPT_ECHO.search(sentence):
        return True
    # the prompt's own sentences said back ("The notes are quoted from the user's files…")
    if any(len(set(words) & p) >= 0.8 * len(set(words)) for p in prompt):
        return True
    # a loop inside one sentence: few distinct words repeated
    return len(words) >= 12 and len(set(words)) / len(words) < 0.4


@dataclass
class Passage:
    """What support is checked against: a passage's words, numbers and the vectors of its units."""

    words: set[str]
    numbers: set[str]
    unit_vectors: np.ndarray

    @classmethod
    def of(cls, heading: str, text: str, unit_vectors: np.ndarray) -> Passage:
        return cls(_content(f"{heading}\n{text}"), set(NUMBER.findall(text)), unit_vectors)


def support(sentence: str, vector: np.ndarray, question_words: set[str], passage: Passage) -> tuple[bool, float]:
    """Is `sentence` (its embedding `vector`) stated by `passage`? And how strongly, 0-1.

    Every number it states must be in the passage; it must mean what one of the passage's units says
    (cosine); and it may bring at most NOVEL_WORDS content words of its own that neither the passage
    nor the question has, unless it is so close to a unit that it is a quote.
    """
    words = _content(sentence)
    novel = words - passage.words - question_words
    overlap = len(words & passage.words) / len(words) if words else 0.0
    similarity = float(np.max(passage.unit_vectors @ vector)) if len(passage.unit_vectors) else 0.0
    numbers_ok = set(NUMBER.findall(sentence)) <= passage.numbers
    ok = numbers_ok and (similarity >= QUOTE_SIMILARITY or (len(novel) <= NOVEL_WORDS and similarity >= MIN_SIMILARITY))
    return ok, (overlap + similarity) / 2


def passage(heading: str, text: str, embedder) -> Passage:
    """A passage's units embedded as they are, like the sentence checked against them: embedded under
    the section's name, both drew close just for sharing it, and wrong sentences passed (hand labels:
    89% agreement bare, 73% under the name)."""
    return Passage.of(heading, text, embedder.embed(split_units(text) or [text]))


def supports(sentence: str, question: str, heading: str, text: str, embedder, cache: dict | None = None) -> bool:
    """`support` for a passage given as text (the evaluation's automatic faithfulness); `cache` keeps
    each passage's unit vectors across calls."""
    cache = {} if cache is None else cache
    if (heading, text) not in cache:
        cache[heading, text] = passage(heading, text, embedder)
    clean = strip_citations(sentence)
    return support(clean, embedder.embed([clean])[0], _content(question), cache[heading, text])[0]


def note_sentences(heading: str, text: str) -> list[str]:
    """A passage as the support head reads it: each unit, then each two adjacent ones (a claim may join them)."""
    units = split_units(text) or [text]
    return passage_candidates(heading, units) + [candidate_text(heading, f"{a} {b}") for a, b in zip(units, units[1:])]


def _without_lead(sentence: str) -> str:
    rest = ANSWER_LEAD.sub("", sentence)
    return rest[:1].upper() + rest[1:] if rest != sentence else sentence


class Verifier:
    """Checks the sentences of one reply, one at a time as they are written, against the evidence it was
    given; `prompt_text` is what the model was told (not the notes), which it must not say back. With a
    `support_model`, a block also needs a sentence the head scores at `support_cut` or above."""

    def __init__(
        self, evidence: Evidence, embedder, prompt_text: str = "", support_model=None, support_cut: float = SUPPORT_CUT
    ):
        self.embedder = embedder
        self.support_model, self.support_cut = support_model, support_cut
        self.question_words = _content(evidence.question)
        self.prompt = [set(_words(s)) for s in split_sentences(prompt_text) if len(_words(s)) >= 4]
        self.blocks = evidence.blocks
        self.headings = {" ".join(_words(part)) for b in self.blocks for part in [b.heading, *b.hit.chunk.heading_path]}
        self.passages = [passage(b.heading, b.hit.text, embedder) for b in self.blocks]
        self.notes = [note_sentences(b.heading, b.hit.text) for b in self.blocks] if support_model else []
        self.seen: set[str] = set()
        self.claims: list[Claim] = []
        self.sentences_done = 0

    def feed(self, text: str, final: bool = False) -> Verifier:
        """Check the sentences of `text` (the reply so far) that are finished and not yet checked; the last
        one is finished only when the reply is (`final`)."""
        sentences = split_sentences(text)
        finished = sentences if final else sentences[:-1]
        for sentence in finished[self.sentences_done :]:
            self.check(sentence)
        self.sentences_done = max(self.sentences_done, len(finished))
        return self

    def check(self, sentence: str) -> Claim:
        clean = _without_lead(strip_citations(sentence))
        cited = [n for m in CITATION.finditer(sentence) for n in _numbers(m.group(1))]
        claim = self._verdict(clean, cited)
        self.claims.append(claim)
        return claim

    def _verdict(self, clean: str, cited: list[int]) -> Claim:
        if (
            _degenerate(clean, self.seen, self.headings, self.prompt)
            or len(_content(clean) - self.question_words - TALK) < 2
        ):
            # ... or it says nothing the question did not ("The answer to your question is:")
            return Claim(clean, False, None, 0.0, "degenerate", cited)
        self.seen.add(" ".join(_words(clean)))
        vector = self.embedder.embed([clean])[0]
        checks = [(*support(clean, vector, self.question_words, p), i) for i, p in enumerate(self.passages)]
        supporting = [c for c in checks if c[0]]
        stated = None
        if supporting and self.support_model is not None:
            best = self._stated(clean, [i for _, _, i in supporting])
            stated = round(max(best.values()), 3)
            supporting = [c for c in supporting if best[c[2]] >= self.support_cut]
        if not supporting:
            score = round(max((c[1] for c in checks), default=0.0), 3)
            return Claim(clean, False, None, score, "unsupported", cited, stated)
        # the model's own citation wins when it is one of the supporting blocks
        own = [c for c in supporting if self.blocks[c[2]].n in cited]
        _, score, i = max(own or supporting, key=lambda c: c[1])
        outcome = "supported" if own else ("repointed" if cited else "cited")
        return Claim(clean, True, self.blocks[i].n, round(score, 3), outcome, cited, stated)

    def _stated(self, claim: str, blocks: list[int]) -> dict[int, float]:
        """The support head's best P, per block, that one of its sentences states `claim`: one batched call."""
        notes = [(i, note) for i in blocks for note in self.notes[i]]
        scores = self.support_model.scores([claim] * len(notes), [note for _, note in notes])
        best = dict.fromkeys(blocks, 0.0)
        for (i, _), p in zip(notes, scores):
            best[i] = max(best[i], float(p))
        return best

    def hopeless(self, min_supported: float, lookahead: int = 2) -> bool:
        """Can the reply no longer reach `min_supported`, even if its next `lookahead` sentences pass?
        Then the rest of it is not worth the wait: it would be set aside for the notes' own sentences."""
        checked = [c for c in self.claims if c.outcome != "degenerate"]
        kept = sum(c.supported for c in checked)
        return len(checked) > kept and kept + lookahead < min_supported * (len(checked) + lookahead)


def verify(text: str, evidence: Evidence, embedder, prompt_text: str = "") -> list[Claim]:
    """The verdict on each sentence of `text`."""
    return Verifier(evidence, embedder, prompt_text).feed(text, final=True).claims


def render(claims: list[Claim]) -> str:
    """The supported sentences, each ending with its citation."""
    return " ".join(
        cite(c.text if c.text.rstrip()[-1:] in (".", "!", "?") else c.text.rstrip() + ".", c.block)
        for c in claims
        if c.supported
    )
