"""Training pairs for the contradiction head (issue #21): (claim, note sentence, 1 if the claim states the
opposite of the sentence).

Made from the support head's pairs and the hand-written ones, relabelled:
- contradicts (1): the FactCC-style reversals of training/data/support_pairs.jsonl (`negation`, `antonym`,
  `number`, `entity`) and the written `reversed_paraphrase`s of training/labels/support_written.jsonl: a
  sentence said again in other words with one fact turned round, as a candidate gets it wrong;
- does not (0): rewrites and paraphrases (the sentence stated), `neighbour`s and written `other_fact`s
  (another fact of the topic: not stated, not contradicted either).
The hand-written wrong interview answers (`interview`) are left out: each is set against every sentence of
its section, most of which it does not contradict. The split is the one each source file carries.

And pairs of the kind grading meets (`answer_pairs`): candidates' sentences of
eval/datasets/interview_answers_v2.jsonl against the key points of the section they answer, where the row
says which point each wrong sentence turns round (`says_instead` beside `contradicts`, read by hand):
- contradicts (1): `answer_reversed`, the sentence holding a `says_instead` against its point;
- does not (0): `answer_right`, every sentence of a right or partial answer against every point on its topic
  (the hard case: a paraphrase that names things differently), and `answer_other`, a wrong answer's
  sentences against the points they do not reverse. Split by question, one in five held out.

    python -m training.contradiction_pairs   # after training.support_pairs; then train_support --head contradiction
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter

from training.cross_encoder import ROOT
from training.support_pairs import OUT as SUPPORT_PAIRS

WRITTEN = ROOT / "training" / "labels" / "support_written.jsonl"
OUT = ROOT / "training" / "data" / "contradiction_pairs.jsonl"
CONTRADICTS = {"negation", "antonym", "number", "entity", "reversed_paraphrase", "answer_reversed"}
NEITHER = {"rewrite", "paraphrase", "neighbour", "other_fact", "answer_right", "answer_other"}
RIGHT = {"correct_paraphrase", "correct_terse", "correct_extra", "partial"}


def answer_pairs() -> list[dict]:
    import tempfile
    from pathlib import Path

    from eval.interview import V2, plain, v2_section
    from rag.answer.reader import candidate_text
    from rag.interview.check import section_concept
    from rag.interview.grading import TOPICAL, answer_units, without_term
    from training.reader_pairs import Collection

    rows = [json.loads(line) for line in V2.read_text().splitlines() if line.strip()]
    with tempfile.TemporaryDirectory(prefix="contradiction-pairs-") as tmp:
        shipped = Collection("shipped", Path(tmp))
        out = []
        for r in rows:
            if r["label"] not in RIGHT | {"wrong_reversed"}:
                continue
            concept = section_concept(v2_section(shipped.chunks, r["source"], r["section_quote"]))
            points, heading = concept.key_points, concept.heading
            units = answer_units(r["answer"])
            units = units[: max(1, len(units) - 1)]  # its sentences and pairs of them, not the whole answer
            vectors = shipped.assistant.embedder.embed([without_term(t, concept.term) for t in points + units])
            topical = vectors[: len(points)] @ vectors[len(points) :].T >= TOPICAL
            same = lambda a, b: plain(a) in plain(b) or plain(b) in plain(a)  # noqa: E731
            reversed_ = {  # (unit, point): the unit holds a wrong sentence, the point is what it turns round
                (i, p)
                for said, wrong in zip(r["says_instead"], r["contradicts"])
                for i, unit in enumerate(units)
                for p, point in enumerate(points)
                if plain(said) in plain(unit) and same(wrong, point)
            }
            wrong_units = {i for i, _ in reversed_}
            split = "val" if int(hashlib.sha1(r["qid"].encode()).hexdigest(), 16) % 5 == 0 else "train"
            for i, unit in enumerate(units):
                for p, point in enumerate(points):
                    if (i, p) in reversed_:
                        kind = "answer_reversed"
                    elif not topical[p, i] or i in wrong_units:
                        continue  # off the point's topic, or a wrong sentence that may reverse this point too
                    else:
                        kind = "answer_other" if r["label"] == "wrong_reversed" else "answer_right"
                    note = candidate_text(heading, point)
                    out.append({"claim": unit, "note": note, "kind": kind, "split": split, "source": r["source"]})
    return out


def build() -> list[dict]:
    rows = [json.loads(line) for path in (SUPPORT_PAIRS, WRITTEN) for line in path.read_text().splitlines()]
    rows += answer_pairs()
    return [r | {"label": int(r["kind"] in CONTRADICTS)} for r in rows if r["kind"] in CONTRADICTS | NEITHER]


def main() -> None:
    rows = build()
    OUT.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    counts = Counter((r["kind"], r["label"], r["split"]) for r in rows)
    for (kind, label, split), n in sorted(counts.items()):
        print(f"{kind:20} {label} {split:5} {n}")
    print(f"{len(rows)} pairs -> {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
