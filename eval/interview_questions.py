"""Questions the default interview session asks, read as an interviewer would (issue #21).

`--draw` plans six sessions of five (seeds 1-6; `--seeds 13-18` the held-out draw) over the shipped notes
with template phrasing, as a session does with no LLM up, and prints each question with its section, for
labelling by hand in `eval/datasets/interview_questions_labels.jsonl` (quality 1-5, answerable yes/partly/no,
kind, reason).
`--report` summarises those labels per phase: mean quality, share unanswerable, kinds present.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import Counter
from pathlib import Path

LABELS = Path(__file__).parent / "datasets" / "interview_questions_labels.jsonl"
NOTES = Path(__file__).parent.parent / "notes"
SEEDS = range(1, 7)
BARS = {"quality": 4.0, "unanswerable": 0.0, "kinds": 4}


def draw(notes: Path = NOTES, n: int = 5, seeds: range = SEEDS) -> list[dict]:
    from rag import Assistant
    from rag.interview.phrasing import template_question
    from rag.interview.session import InterviewSession

    with tempfile.TemporaryDirectory() as tmp:
        assistant = Assistant(notes_dir=notes, index_dir=Path(tmp) / "index", interview_dir=Path(tmp) / "interview")
        assistant.ensure_index()
        chunks = {c.id: c for c in assistant.index.chunks}
        rows = []
        for seed in seeds:
            plan = InterviewSession.start(assistant, n=n, seed=seed, phrasing="template").plan
            for number, concept in enumerate(plan, 1):
                rows.append(
                    {
                        "seed": seed,
                        "number": number,
                        "question": template_question(concept),
                        "concept_kind": concept.kind,
                        "source": concept.source,
                        "heading": concept.heading,
                        "section": "\n".join(chunks[i].text for i in concept.chunk_ids if i in chunks),
                    }
                )
        return rows


def report(path: Path = LABELS) -> dict[str, dict]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    out = {}
    for phase in dict.fromkeys(r["phase"] for r in rows):
        mine = [r for r in rows if r["phase"] == phase]
        out[phase] = {
            "questions": len(mine),
            "quality": round(sum(r["quality"] for r in mine) / len(mine), 2),
            "unanswerable": round(sum(r["answerable"] == "no" for r in mine) / len(mine), 2),
            "partly": round(sum(r["answerable"] == "partly" for r in mine) / len(mine), 2),
            "kinds": dict(Counter(r["kind"] for r in mine).most_common()),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draw", action="store_true", help="print the drawn questions as JSON lines")
    parser.add_argument("--report", action="store_true", help="summarise the labels per phase")
    parser.add_argument(
        "--seeds", default="1-6", help="the sessions to draw, FIRST-LAST (1-6 and 7-12 for development; 13-18 held out)"
    )
    args = parser.parse_args()
    if args.draw:
        first, last = map(int, args.seeds.split("-"))
        for row in draw(seeds=range(first, last + 1)):
            print(json.dumps(row, ensure_ascii=False))
    if args.report or not args.draw:
        for phase, figures in report().items():
            kinds = len(figures["kinds"])
            passes = (
                figures["quality"] >= BARS["quality"]
                and figures["unanswerable"] <= BARS["unanswerable"]
                and kinds >= BARS["kinds"]
            )
            print(f"{phase}: {json.dumps(figures)} -> {'meets' if passes else 'misses'} the bars")


if __name__ == "__main__":
    main()
