"""Hand labels of answers, the figures they give, and how far the automatic metrics agree with them.

`eval/datasets/answer_labels.jsonl` holds one line per labelled answer (a configuration's answer to one
question, from an `answers.jsonl` transcript that `rag eval answers` writes):

    {"config": "verified", "id": "h001", "correct": 1 | 0.5 | 0 | null, "abstained": bool,
     "degenerate": bool, "sentences": [{"text": "...", "supported": bool, "citation_ok": bool | null}]}

`correct` is null for unanswerable questions; `sentences` are the answer's sentences as
`eval.answers.sentences` splits them (without the "From your notes:" line of an extractive answer);
`citation_ok` is whether the block the sentence cites supports it (null when it cites none).
"""

from __future__ import annotations

import json
import re
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path

from eval.answers import abstains, overlap_proxy, sentences

LABELS = Path(__file__).parent / "datasets" / "answer_labels.jsonl"


def label_sentences(text: str) -> list[str]:
    """The sentences a labeller judges: exactly what the automatic metrics see."""
    return sentences(text)


@dataclass
class LabelledFigures:
    config: str
    answers: int
    correct: float | None  # mean over answerable questions, 1 / 0.5 / 0
    faithfulness: float | None  # share of sentences supported by the passages
    citation_precision: float | None  # share of cited sentences whose block supports them
    abstention: float | None
    false_abstention: float | None
    degenerate: int  # answers that were loops, echoes or empty


def _mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.fmean(values) if values else None


def load_labels(path: Path = LABELS) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def figures(labels: list[dict], answerable: dict[str, bool]) -> list[LabelledFigures]:
    out = []
    for config in dict.fromkeys(row["config"] for row in labels):
        rows = [r for r in labels if r["config"] == config]
        said = [s for r in rows if not r["abstained"] for s in r["sentences"]]
        out.append(
            LabelledFigures(
                config=config,
                answers=len(rows),
                correct=_mean(float(r["correct"] or 0) for r in rows if answerable[r["id"]]),
                faithfulness=_mean(float(s["supported"]) for s in said),
                citation_precision=_mean(float(s["citation_ok"]) for s in said if s.get("citation_ok") is not None),
                abstention=_mean(float(r["abstained"]) for r in rows if not answerable[r["id"]]),
                false_abstention=_mean(float(r["abstained"]) for r in rows if answerable[r["id"]]),
                degenerate=sum(bool(r.get("degenerate")) for r in rows),
            )
        )
    return out


def automatic(labels: list[dict], transcript: list[dict], embedder) -> tuple[dict[str, dict], dict[str, float]]:
    """The automatic figures for the labelled answers, defined as the labelled ones are (sentences of the
    answers that did not abstain), and how often each support test agrees with the sentence labels."""
    from rag.answer.citations import CITATION
    from rag.answer.verify import supports

    answers = {(r["config"], r["id"]): r for r in transcript}
    cache: dict = {}
    rule = "verifier rule (rag.answer.verify.support)"
    tests = {
        rule: lambda s, p, q, h: supports(s, q, h, p, embedder, cache),
        "first proxy (cosine >= 0.6 or half the words)": lambda s, p, q, h: overlap_proxy(
            CITATION.sub("", s), p, embedder
        ),
    }
    agree = {name: [] for name in tests}
    per_config: dict[str, dict] = {}
    for row in labels:
        record = answers.get((row["config"], row["id"]))
        if record is None:
            continue
        figures_ = per_config.setdefault(
            row["config"], {"supported": [], "cited_ok": [], "abstained": [], "answerable": []}
        )
        abstained = record["mode"] == "abstained" or abstains(record["answer"])
        figures_["abstained"].append(abstained)
        figures_["answerable"].append(record["answerable"])
        if abstained:
            continue
        passages = record["passages"]
        for s in label_sentences(record["answer"]):
            verdicts = {
                name: any(test(s, p["text"], record["question"], p["heading"]) for p in passages.values())
                for name, test in tests.items()
            }
            figures_["supported"].append(verdicts[rule])
            cited = [passages[n] for n in re.findall(r"\[(\d+)\]", s) if n in passages]
            if cited:
                figures_["cited_ok"].append(
                    any(tests[rule](s, p["text"], record["question"], p["heading"]) for p in cited)
                )
            labelled = next((x for x in row["sentences"] if x["text"] == s), None)
            if labelled is not None:
                for name, verdict in verdicts.items():
                    agree[name].append(verdict == labelled["supported"])
    summary = {
        config: {
            "faithfulness": _mean(float(v) for v in f["supported"]),
            "citation_precision": _mean(float(v) for v in f["cited_ok"]),
            "abstention": _mean(float(a) for a, ans in zip(f["abstained"], f["answerable"]) if not ans),
            "false_abstention": _mean(float(a) for a, ans in zip(f["abstained"], f["answerable"]) if ans),
        }
        for config, f in per_config.items()
    }
    agreement = {name: (sum(v) / len(v) if v else float("nan")) for name, v in agree.items()} | {
        "sentences": len(next(iter(agree.values())))
    }
    return summary, agreement


def to_json(items: list[LabelledFigures]) -> list[dict]:
    return [asdict(i) for i in items]


def quote_recall(answer: str, quote: str) -> float:
    """Share of the gold quote's content words (stemmed) that the answer contains: a correctness proxy."""
    from ingest.store import bm25_tokenize

    want, have = (set(words) for words in bm25_tokenize([quote, answer]))
    return len(want & have) / len(want) if want else 0.0


def correctness_agreement(
    labels: list[dict], transcript: list[dict], questions: dict, scores: dict
) -> dict[str, float]:
    """How often each automatic correctness proxy, thresholded, says what the label says (correct = 1 or
    0.5 counts as right, 0 as wrong), over the answerable questions that were not abstained on."""
    answers = {(r["config"], r["id"]): r for r in transcript}
    proxies = {
        "quote recall >= 0.5 (the gold quote's content words in the answer)": lambda r, q, s: (
            quote_recall(r["answer"], q.quote) >= 0.5
        )
    }
    hits = {name: [] for name in proxies}
    for row in labels:
        q = questions[row["id"]]
        record = answers.get((row["config"], row["id"]))
        if record is None or not q.answerable or row["abstained"]:
            continue
        for name, proxy in proxies.items():
            hits[name].append(
                proxy(record, q, scores.get((row["config"], row["id"]), {})) == (float(row["correct"] or 0) >= 0.5)
            )
    return {name: (sum(v) / len(v) if v else float("nan")) for name, v in hits.items()}


def report_lines(labels_path: Path, labels, labelled, auto, support, correct) -> list[str]:
    fmt = lambda v: "–" if v is None else f"{v:.2f}"
    lines = [
        "# Answers: hand labels beside the automatic metrics",
        "",
        f"{len(labels)} answers labelled by reading each against its passages (eval/datasets/{labels_path.name}); "
        "faithfulness and citation precision are over the sentences of the answers that did not abstain.",
        "",
        "| configuration | answers | correct (labels) | faithfulness labels / auto | citation precision labels "
        "/ auto | abstention labels / auto | false abstention labels / auto | degenerate answers (labels) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for f in labelled:
        a = auto.get(f.config, {})
        lines.append(
            f"| {f.config} | {f.answers} | {fmt(f.correct)} | {fmt(f.faithfulness)} / {fmt(a.get('faithfulness'))} | "
            f"{fmt(f.citation_precision)} / {fmt(a.get('citation_precision'))} | {fmt(f.abstention)} / "
            f"{fmt(a.get('abstention'))} | "
            f"{fmt(f.false_abstention)} / {fmt(a.get('false_abstention'))} | {f.degenerate} |"
        )
    lines += [
        "",
        f"Sentence support, agreement with the labels over {support.pop('sentences')} labelled sentences:",
        "",
    ]
    lines += [f"- {name}: {value:.1%}" for name, value in support.items()]
    lines += ["", "Correctness proxy, agreement with the labels (answerable, not abstained; right = 1 or 0.5):", ""]
    lines += [f"- {name}: {value:.1%}" for name, value in correct.items()]
    return lines


def main(argv: list[str] | None = None) -> None:
    """python -m eval.labels RESULTS_DIR: the labelled figures beside the automatic ones, and the
    metrics' agreement with the labels, written to RESULTS_DIR/labelled.md and labelled.json.
    RESULTS_DIR holds the `answers.jsonl` transcript(s) the labels were made from."""
    import sys

    from eval.dataset import load_questions
    from ingest.embed import Embedder

    args = sys.argv[1:] if argv is None else argv
    results = Path(args[0])
    labels_path = Path(args[1]) if len(args) > 1 else LABELS
    labels = load_labels(labels_path)
    transcript = [json.loads(line) for line in (results / "answers.jsonl").read_text().splitlines() if line.strip()]
    # one labels file holds every labelled set; these figures are for the answers of this transcript
    answered = {(r["config"], r["id"]) for r in transcript}
    labels = [row for row in labels if (row["config"], row["id"]) in answered]
    questions = {q.id: q for q in load_questions()}
    labelled = figures(labels, {q: questions[q].answerable for q in questions})
    auto, support = automatic(labels, transcript, Embedder())
    scores = {(r["config"], r["id"]): {} for r in transcript}
    correct = correctness_agreement(labels, transcript, questions, scores)
    lines = report_lines(labels_path, labels, labelled, auto, support, correct)
    (results / "labelled.md").write_text("\n".join(lines) + "\n")
    (results / "labelled.json").write_text(
        json.dumps(
            {
                "figures": to_json(labelled),
                "automatic": auto,
                "support_agreement": support,
                "correctness_agreement": correct,
            },
            indent=1,
        )
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
