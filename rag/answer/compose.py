"""The three ways an answer is made from the evidence: generated and verified, extractive, abstained."""

from __future__ import annotations

import re
from itertools import takewhile

from rag.answer.citations import cite
from rag.answer.evidence import ASKS_FORMULA, CONTINUES, LIST_ITEM, Evidence, Unit, best_per_part, is_label

NOT_COVERED = "My notes don't cover this."
CLOSE_TO_BEST = 0.15  # unit score; the spread among sentences that answer one question
ADDS_TO_ANSWER = 0.5  # the reader's P: below it a sentence is only on the topic, not a point of the answer
MAX_LISTED = 8  # items a lead-in brings with it
# a sentence that announces a list: "There are several assumptions of linear regression."
ANNOUNCES = re.compile(
    r"\b(several|following|these|some common|main|types of|kinds of|ways to|steps)\b.*[.:]$", re.IGNORECASE
)
SENTENCE_END = re.compile(r"[.!?](?:\s*\[\d+\])*[\"')\]]*(?=\s|$)")


def cut_to_last_sentence(text: str) -> str:
    """A reply stopped by the token limit ends mid-sentence ("This step can"): keep what was finished."""
    ends = list(SENTENCE_END.finditer(text))
    return text[: ends[-1].end()].rstrip() if ends else ""


def extractive_text(evidence: Evidence, number_of: dict[str, int], max_points: int = 3) -> tuple[str, list[int]]:
    """A study answer in the notes' own words: a direct first sentence that answers, then only the points
    that add to it (each part of a two-part question answered); every sentence cited. The blocks cited."""
    chosen = study_points(evidence, max_points)
    lines = [cite(LIST_ITEM.sub("", u.text), number_of[u.hit.chunk_id]) for u in chosen]
    text = lines[0] + "".join(f"\n- {line}" for line in lines[1:])
    return text, list(dict.fromkeys(number_of[u.hit.chunk_id] for u in chosen))


def study_points(evidence: Evidence, max_points: int) -> list[Unit]:
    """The units of the answer, in the order they are said."""
    units = [u for u in evidence.units if usable(u)] or evidence.units
    ranked = sorted(units, key=lambda u: -u.score)
    best = ranked[0].score
    # a runner-up far below the best is another topic's sentence (the neighbouring worked example)
    close = [u for u in ranked if u.score >= best - CLOSE_TO_BEST]
    if ranked[0].answer is not None:
        close = [u for u in close if u.answer >= ADDS_TO_ANSWER] or ranked[:1]
    if ASKS_FORMULA.search(evidence.question):
        # a question that asks for a formula is answered by the formula line, then what explains it
        close.sort(key=lambda u: u.kind != "formula")
    picked: list[Unit] = []
    for u in [*best_per_part(units, evidence.parts), *close]:
        if len(picked) >= max_points + len(evidence.parts):
            break
        if not any(same_point(u, p) for p in picked):
            picked.append(u)
    return with_context(picked, evidence.units)


def usable(u: Unit) -> bool:
    """Said on its own, a lone label, a table row or a heading is clutter, not an answer."""
    return u.kind != "row" and not is_label(u.text)


def same_point(a: Unit, b: Unit) -> bool:
    """The same sentence twice (from overlapping passages) or nearly: one is enough."""
    wa, wb = set(re.findall(r"\w+", a.text.lower())), set(re.findall(r"\w+", b.text.lower()))
    return a.text == b.text or len(wa & wb) >= 0.8 * min(len(wa), len(wb))


def with_context(picked: list[Unit], units: list[Unit]) -> list[Unit]:
    """An opener that points back ("It helps…", "This makes…") comes after the sentence it points to; a
    lead-in ("There are several assumptions:") comes with the list it announces."""
    at = {(u.hit.chunk_id, u.position): u for u in units}
    out: list[Unit] = []
    for u in picked:
        before = at.get((u.hit.chunk_id, u.position - 1))
        if CONTINUES.match(u.text) and before is not None and before not in out:
            out.append(before)
        if u not in out:
            out.append(u)
        if ANNOUNCES.search(u.text):
            following = [at.get((u.hit.chunk_id, u.position + i)) for i in range(1, MAX_LISTED + 1)]
            out += [f for f in takewhile(lambda f: f is not None and f.kind == "item", following) if f not in out]
    return out


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
