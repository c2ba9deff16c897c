"""The three ways an answer is made from the evidence: generated and verified, extractive, abstained."""

from __future__ import annotations

import re

from rag.answer.citations import cite
from rag.answer.evidence import LIST_ITEM, Evidence, is_label, without_lone_labels

NOT_COVERED = "My notes don't cover this."
EXTRACTIVE_LEAD = "From your notes:"
CLOSE_TO_BEST = 0.15  # unit score; the spread among sentences that answer one question
SENTENCE_END = re.compile(r"[.!?](?:\s*\[\d+\])*[\"')\]]*(?=\s|$)")


def cut_to_last_sentence(text: str) -> str:
    """A reply stopped by the token limit ends mid-sentence ("This step can"): keep what was finished."""
    ends = list(SENTENCE_END.finditer(text))
    return text[: ends[-1].end()].rstrip() if ends else ""


def extractive_text(evidence: Evidence, n_units: int = 3) -> tuple[str, list[int]]:
    """The best evidence sentences in the notes' own words, each with its block; the blocks cited."""
    block_of = {id(u): b.n for b in evidence.blocks for u in b.units}
    ranked = sorted((u for b in evidence.blocks for u in b.units), key=lambda u: -u.score)
    # a runner-up far below the best is another topic's sentence (the neighbouring worked example)
    close = [u for u in ranked[:n_units] if u.score >= ranked[0].score - CLOSE_TO_BEST]
    best = without_lone_labels(close) or [u for u in ranked if not is_label(u.text)][:1] or close
    lines = ["- " + cite(LIST_ITEM.sub("", u.text), block_of[id(u)]) for u in best]
    cited = list(dict.fromkeys(block_of[id(u)] for u in best))
    return EXTRACTIVE_LEAD + "\n" + "\n".join(lines), cited


# how an answer not in the model's words was made: (the LLM not asked, the LLM asked and its reply set aside)
HOW_MADE = {
    "extractive": ("the notes' own sentences, no LLM", "the notes' own sentences in place of the model's reply"),
    "abstained": ("decided from retrieval, no LLM", "nothing the model wrote was found in your notes"),
}


def how_made(mode: str, claims: list) -> str | None:
    """One line for an extractive or abstained answer, as the CLI and the browser app say it."""
    return HOW_MADE[mode][bool(claims)] if mode in HOW_MADE else None


def related_text(evidence: Evidence, n: int = 3) -> str:
    """What an abstention offers instead: where the notes come closest."""
    if not evidence.hits:
        return NOT_COVERED
    lines = [f"- {h.source}:{h.chunk.line_start} > {h.heading}" for h in evidence.hits[:n]]
    return NOT_COVERED + "\nRelated in your notes:\n" + "\n".join(lines)
