"""Run the retrieval evaluation over several configurations and write report.json, report.md and plots."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from eval.dataset import DEFAULT_DATASET, load_questions
from eval.retrieval import KS, AssistantSearcher, ConfigResult, NaiveSearcher, evaluate_searcher

CONFIGS = ("naive", "bm25", "dense", "rrf", "hybrid")


@dataclass
class RetrievalReport:
    dataset: str
    split: str
    questions: int
    results: list[ConfigResult]
    command: str = ""
    created: float = field(default_factory=time.time)

    def to_json(self) -> dict:
        return {
            **{k: v for k, v in asdict(self).items() if k != "results"},
            "results": [asdict(r) for r in self.results],
        }

    def best(self) -> ConfigResult:
        return max(self.results, key=lambda r: r.hit_at_2000)


def run_retrieval_eval(
    assistant,
    configs: tuple[str, ...] | list[str] = CONFIGS,
    chunk_sweep: list[int] = (),
    dataset: Path | None = None,
    split: str = "all",
    work_dir: Path | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> RetrievalReport:
    """`assistant` is the configuration under test ("hybrid"); the others vary one setting of it."""
    from rag.assistant import Assistant

    questions = load_questions(dataset, split=split)
    answerable = [q for q in questions if q.answerable]
    report = progress or (lambda stage, done, total: None)
    base = assistant.settings
    searchers: dict[str, Callable[[], object]] = {
        "naive": lambda: NaiveSearcher(assistant.notes_dir, assistant.embedder),
        "bm25": lambda: AssistantSearcher(Assistant(settings=base, fusion="bm25")),
        "dense": lambda: AssistantSearcher(Assistant(settings=base, fusion="dense")),
        "rrf": lambda: AssistantSearcher(Assistant(settings=base, fusion="rrf")),
        "hybrid": lambda: AssistantSearcher(assistant),
        "links": lambda: AssistantSearcher(Assistant(settings=base, follow_links=True)),
    }
    unknown = [c for c in configs if c not in searchers]
    if unknown:
        raise ValueError(f"unknown configuration {', '.join(unknown)}; choose from {', '.join(searchers)}")
    jobs = [(name, searchers[name]) for name in configs]
    for tokens in chunk_sweep:
        folder = (work_dir or assistant.index_dir.parent) / f"sweep-{tokens}"

        def build(tokens=tokens, folder=folder):
            swept = Assistant(settings=base, chunk_tokens=tokens, overlap_tokens=tokens // 5, index_dir=folder)
            swept.ingest()
            return AssistantSearcher(swept)

        jobs.append((f"hybrid-{tokens}t", build))
    results = []
    for n, (name, make) in enumerate(jobs):
        done = 0

        def tick(name=name, n=n):
            nonlocal done
            done += 1
            report(name, n * len(answerable) + done, len(jobs) * len(answerable))

        results.append(evaluate_searcher(name, make(), questions, tick))
    return RetrievalReport(
        dataset=str(dataset or DEFAULT_DATASET), split=split, questions=len(answerable), results=results
    )


def write_report(report: RetrievalReport, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report.to_json(), indent=1))
    (out / "report.md").write_text(markdown(report))
    return [out / "report.json", out / "report.md", *plots(report, out)]


def markdown(report: RetrievalReport) -> str:
    metrics = ["recall@1", "recall@3", "recall@5", "recall@10", "mrr@10", "ndcg@10"]
    lines = [
        "# Retrieval evaluation",
        "",
        f"Dataset `{Path(report.dataset).name}`, split `{report.split}`, {report.questions} answerable questions."
        + (f" Command: `{report.command}`." if report.command else ""),
        "Relevance is quote containment; hit@2000 is the share of questions whose quote lies in the first 2,000",
        "characters of the ranked chunks joined in order. Rank metrics from ranx.",
        "",
        "| configuration | chunks | hit@2000chars | " + " | ".join(metrics) + " |",
        "|---|---|---|" + "---|" * len(metrics),
    ]
    for r in report.results:
        lines.append(
            f"| {r.name} | {r.chunks} | {r.hit_at_2000:.3f} | "
            + " | ".join(f"{r.metrics[m]:.3f}" for m in metrics)
            + " |"
        )
    lines += ["", "## Misses (hit@2000chars)", ""]
    for r in report.results:
        lines.append(f"- **{r.name}**: {', '.join(r.misses()) or 'none'}")
    return "\n".join(lines) + "\n"


def plots(report: RetrievalReport, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    recall_png = out / "recall_at_k.png"
    fig, ax = plt.subplots(figsize=(6, 4))
    for r in report.results:
        ax.plot(KS, [r.metrics[f"recall@{k}"] for k in KS], marker="o", label=r.name)
    ax.set_xlabel("k")
    ax.set_ylabel("recall@k")
    ax.set_xticks(KS)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title("Recall@k by configuration")
    fig.tight_layout()
    fig.savefig(recall_png, dpi=110)
    plt.close(fig)

    outcome_png = out / "per_question.png"
    ids = list(report.results[0].per_question)
    grid = np.array([[1.0 if r.per_question.get(q) else 0.0 for q in ids] for r in report.results])
    fig, ax = plt.subplots(figsize=(max(6, len(ids) * 0.09), 0.5 * len(report.results) + 1.2))
    ax.imshow(grid, aspect="auto", cmap="RdYlGn", vmin=0, vmax=1, interpolation="nearest")
    ax.set_yticks(range(len(report.results)), [r.name for r in report.results])
    ax.set_xticks(range(0, len(ids), 5), ids[::5], rotation=90, fontsize=6)
    ax.set_title("hit@2000chars per question (green = found)")
    fig.tight_layout()
    fig.savefig(outcome_png, dpi=110)
    plt.close(fig)
    return [recall_png, outcome_png]


ANSWER_METRICS = (
    "faithfulness",
    "relevance",
    "token_f1",
    "rouge_l",
    "similarity",
    "citation_validity",
    "citation_precision",
    "abstention",
    "false_abstention",
)


def write_answer_report(summaries, out: Path, command: str = "") -> list[Path]:
    """answers.json, answers.md and answers.png for `evaluate_answers` results."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    out.mkdir(parents=True, exist_ok=True)
    (out / "answers.json").write_text(
        json.dumps(
            [
                {**s.to_json(), "per_question": [{**asdict(p), "record": None} for p in s.per_question]}
                for s in summaries
            ],
            indent=1,
        )
    )
    # one answer per line with the passages it was given: what hand labels are made from (eval/labels.py)
    with (out / "answers.jsonl").open("w") as transcript:
        for s in summaries:
            for p in s.per_question:
                transcript.write(
                    json.dumps(
                        {"config": s.name, "id": p.id, "answerable": p.answerable, **p.record}, ensure_ascii=False
                    )
                    + "\n"
                )
    fmt = lambda v: "–" if v is None else f"{v:.3f}"
    lines = [
        "# Answer evaluation",
        "",
        f"Support judged by: {summaries[0].method}." + (f" Command: `{command}`." if command else ""),
        "`no-retrieval` is the same LLM asked without any notes: the difference is what retrieval adds.",
        "",
        "| configuration | n | " + " | ".join(ANSWER_METRICS) + " | seconds |",
        "|---|---|" + "---|" * (len(ANSWER_METRICS) + 1),
    ]
    for s in summaries:
        lines.append(
            f"| {s.name} | {s.n} | " + " | ".join(fmt(getattr(s, m)) for m in ANSWER_METRICS) + f" | {fmt(s.seconds)} |"
        )
    (out / "answers.md").write_text("\n".join(lines) + "\n")

    fig, ax = plt.subplots(figsize=(8, 4))
    width = 0.8 / len(summaries)
    x = np.arange(len(ANSWER_METRICS))
    for i, s in enumerate(summaries):
        ax.bar(x + i * width, [getattr(s, m) or 0.0 for m in ANSWER_METRICS], width, label=s.name)
    ax.set_xticks(x + width * (len(summaries) - 1) / 2, ANSWER_METRICS, rotation=30, ha="right")
    ax.set_ylim(0, 1)
    ax.legend()
    ax.set_title("Answer quality")
    fig.tight_layout()
    fig.savefig(out / "answers.png", dpi=110)
    plt.close(fig)
    return [out / "answers.json", out / "answers.jsonl", out / "answers.md", out / "answers.png"]
