"""The verifier on answers a capable model writes (issue #24): eval/datasets/capable_answers.jsonl, 114
answers as a 7B instruct model would write them (paraphrased, two passages combined, some with one subtle
error), each sentence labelled supported or not.

    python -m eval.capable

Every labelled sentence is checked by the answer path's own `Verifier` against the passages its answer was
given, and the report gives the share of faithful sentences kept and of wrong ones dropped, by error kind,
for the two halves of the set split by question id: odd ids tune, even ids are held out. Twice: with
today's rule alone, then with the support head as well (`support_check`), whose cut is chosen on the tuning
half only: the one that drops the most wrong sentences while keeping faithful-kept within 2 points of the
rule's, and among those the highest. `verify.SUPPORT_CUT` is that cut as shipped.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

DATASET = Path(__file__).parent / "datasets" / "capable_answers.jsonl"
NOTES = Path(__file__).parents[1] / "notes"
# the error notes of the set begin with what kind of error it is ("general knowledge: ...", "reversed: ...")
NOT_STATED = re.compile(r"^(general knowledge|not in the (given )?passages|not stated)", re.IGNORECASE)


@dataclass
class Sentence:
    answer: str  # the answer's id
    half: str  # tuning | held-out
    text: str
    faithful: bool
    kind: str  # faithful | not stated (the passages never say it) | contradicted (they say otherwise)
    rule: bool  # kept by today's rule (cosine + word overlap)
    stated: float | None  # the support head's best P over the blocks the rule accepts

    def kept(self, cut: float | None) -> bool:
        """The verdict with the support head at `cut`; None: the rule alone."""
        return self.rule and (cut is None or (self.stated or 0.0) >= cut)


def half(qid: str) -> str:
    return "tuning" if int(re.sub(r"\D", "", qid)) % 2 else "held-out"


def kind(label: dict) -> str:
    if label["supported"]:
        return "faithful"
    return "not stated" if NOT_STATED.match(label["error"]) else "contradicted"


def shipped_chunks(embedder) -> list:
    from ingest.chunking import chunk_document
    from ingest.documents import load_document

    return [c for p in sorted(NOTES.iterdir()) for c in chunk_document(load_document(p, p.name), embedder.count_tokens)]


def evidence(row: dict, chunks: list):
    """The answer's passages as the evidence blocks the verifier was given. The set keeps only a passage's
    note and text: its heading is that of the note's chunk sharing the most words with it."""
    from rag.answer.evidence import Block, Evidence
    from rag.types import Chunk, Hit

    blocks = []
    for p in row["passages"]:
        words = set(re.findall(r"\w+", p["text"].lower()))
        home = max(
            (c for c in chunks if c.source == p["source"]),
            key=lambda c: len(words & set(re.findall(r"\w+", c.text.lower()))),
        )
        chunk = Chunk(f"{row['id']}-{p['n']}", p["source"], home.title, home.heading_path, 0, 0, p["text"])
        blocks.append(Block(p["n"], Hit(chunk, 1.0, p["n"]), []))
    return Evidence(row["question"], [b.hit for b in blocks], blocks)


def check(rows: list[dict], embedder, support_model=None) -> tuple[list[Sentence], float]:
    """Every labelled sentence, with the verifier's verdict (with a `support_model`, its score too: the cut
    is 0, so the verdict is the rule's); and the median ms it took per answer."""
    from rag.answer.verify import Verifier

    chunks = shipped_chunks(embedder)
    out, times = [], []
    for row in rows:
        given = evidence(row, chunks)
        started = time.perf_counter()
        verifier = Verifier(given, embedder, support_model=support_model, support_cut=0.0)
        claims = [verifier.check(s["text"]) for s in row["sentences"]]
        times.append(1000 * (time.perf_counter() - started))
        for s, claim in zip(row["sentences"], claims):
            out.append(
                Sentence(row["id"], half(row["qid"]), s["text"], s["supported"], kind(s), claim.supported, claim.stated)
            )
    return out, sorted(times)[len(times) // 2]


def rates(sentences: list[Sentence], cut: float | None) -> tuple[float, float]:
    """Faithful sentences kept, wrong ones dropped."""
    faithful = [s.kept(cut) for s in sentences if s.faithful]
    wrong = [not s.kept(cut) for s in sentences if not s.faithful]
    return sum(faithful) / len(faithful), sum(wrong) / len(wrong)


def choose_cut(tuning: list[Sentence], budget: float = 0.02) -> float:
    """The cut that drops the most wrong sentences while faithful-kept stays within `budget` of the rule's;
    among equals, the highest."""
    floor = rates(tuning, None)[0] - budget
    cuts = sorted({0.0, *(s.stated for s in tuning if s.stated is not None)})
    return max((c for c in cuts if rates(tuning, c)[0] >= floor), key=lambda c: (rates(tuning, c)[1], c))


def table(sentences: list[Sentence], cut: float | None) -> list[str]:
    lines = [
        "| half | faithful kept | wrong dropped | not stated dropped | contradicted dropped |",
        "|---|---|---|---|---|",
    ]
    for name in ("tuning", "held-out", "all"):
        rows = [s for s in sentences if name in ("all", s.half)]
        cells = []
        for wanted, keep in (("faithful", True), ("wrong", False), ("not stated", False), ("contradicted", False)):
            group = [s for s in rows if (not s.faithful if wanted == "wrong" else s.kind == wanted)]
            hits = sum(s.kept(cut) == keep for s in group)
            cells.append(f"{hits / len(group):.3f} ({hits}/{len(group)})")
        lines.append(f"| {name} | {' | '.join(cells)} |")
    return lines


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from ingest.embed import Embedder
    from rag.answer.support import SupportModel
    from rag.answer.verify import SUPPORT_CUT

    rows = [json.loads(line) for line in DATASET.read_text().splitlines() if line.strip()]
    embedder = Embedder()
    today, ms = check(rows, embedder)
    print(f"{len(rows)} answers, {len(today)} sentences. Today's rule (cosine + word overlap), {ms:.0f} ms per answer:")
    print("\n".join(table(today, None)))
    model = SupportModel.load()
    if model is None:
        raise SystemExit("no support head in rag/answer/models/: run `python -m training.train_support` first")
    scored, ms = check(rows, embedder, model)
    cut = choose_cut([s for s in scored if s.half == "tuning"])
    print(f"\nWith the support head, cut chosen on the tuning half: {cut:.4f}; shipped SUPPORT_CUT {SUPPORT_CUT}")
    print(f"At SUPPORT_CUT, {ms:.0f} ms per answer (median):")
    print("\n".join(table(scored, SUPPORT_CUT)))


if __name__ == "__main__":
    main()
