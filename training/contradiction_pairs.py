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

    python -m training.contradiction_pairs   # after training.support_pairs; then train_support --head contradiction
"""

from __future__ import annotations

import json
from collections import Counter

from training.cross_encoder import ROOT
from training.support_pairs import OUT as SUPPORT_PAIRS

WRITTEN = ROOT / "training" / "labels" / "support_written.jsonl"
OUT = ROOT / "training" / "data" / "contradiction_pairs.jsonl"
CONTRADICTS = {"negation", "antonym", "number", "entity", "reversed_paraphrase"}
NEITHER = {"rewrite", "paraphrase", "neighbour", "other_fact"}


def build() -> list[dict]:
    rows = [json.loads(line) for path in (SUPPORT_PAIRS, WRITTEN) for line in path.read_text().splitlines()]
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
