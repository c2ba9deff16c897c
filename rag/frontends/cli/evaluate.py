"""Measuring the assistant: `rag eval retrieval | answers | abstention | all` (the `eval` package)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from rag.frontends.cli.app import eval_app
from rag.frontends.cli.console import IndexOpt, NotesOpt, make_assistant, one_line_errors, out, progress_bar

DatasetOpt = Annotated[Path | None, typer.Option("--dataset", help="JSONL question set (default: the shipped one).")]
SplitOpt = Annotated[str, typer.Option("--split", help="dev, test, holdout, fresh or all.")]
OutOpt = Annotated[Path, typer.Option("--out", help="Where the reports and plots go.")]
ConfigsOpt = Annotated[str, typer.Option("--configs", help="Comma-separated: naive,bm25,dense,rrf,hybrid,links.")]
SweepOpt = Annotated[str, typer.Option("--sweep", help="Chunk sizes to try with hybrid, e.g. 128,300.")]
LimitOpt = Annotated[
    int, typer.Option("--limit", help="At most this many answerable questions, and a third as many unanswerable.")
]
AnswerConfigsOpt = Annotated[
    str, typer.Option("--answer-configs", help="Comma-separated: verified,extractive,raw,no-retrieval.")
]
fmt = lambda v: "–" if v is None else f"{v:.3f}"


def run_eval(kind: str, notes, index, **options):
    from eval.run import evaluate

    a = make_assistant(notes, index)
    with one_line_errors(ValueError):
        a.ingest()
        with progress_bar() as bar:
            task = bar.add_task(kind, total=None)
            update = lambda stage, done, total: bar.update(task, description=stage, completed=done, total=total)
            return evaluate(a, kind, progress=update, **options)


def show_retrieval(report, out_dir: Path) -> None:
    from eval.report import write_report

    report.command = "rag " + " ".join(sys.argv[1:])
    paths = write_report(report, out_dir)
    table = Table("configuration", "chunks", "hit@2000", "recall@5", "MRR@10", "nDCG@10")
    for r in report.results:
        table.add_row(
            r.name,
            str(r.chunks),
            fmt(r.hit_at_2000),
            fmt(r.metrics["recall@5"]),
            fmt(r.metrics["mrr@10"]),
            fmt(r.metrics["ndcg@10"]),
        )
    out.print(table)
    out.print("wrote " + ", ".join(str(p) for p in paths))


def show_answers(summaries, out_dir: Path) -> None:
    from eval.report import write_answer_report

    paths = write_answer_report(summaries, out_dir, "rag " + " ".join(sys.argv[1:]))
    table = Table(
        "configuration", "n", "faithful", "relevance", "token F1", "ROUGE-L", "cite valid", "abstain", "false abstain"
    )
    for r in summaries:
        table.add_row(
            r.name,
            str(r.n),
            fmt(r.faithfulness),
            fmt(r.relevance),
            fmt(r.token_f1),
            fmt(r.rouge_l),
            fmt(r.citation_validity),
            fmt(r.abstention),
            fmt(r.false_abstention),
        )
    out.print(table)
    out.print("wrote " + ", ".join(str(p) for p in paths))


def split_list(configs: str) -> list[str]:
    return [c.strip() for c in configs.split(",") if c.strip()]


def chunk_sizes(sweep: str) -> list[int]:
    return [int(t) for t in sweep.split(",") if t.strip()]


@eval_app.command("retrieval")
def eval_retrieval(
    dataset: DatasetOpt = None,
    configs: ConfigsOpt = "naive,bm25,dense,rrf,hybrid",
    sweep: SweepOpt = "",
    split: SplitOpt = "all",
    out_dir: OutOpt = Path("eval/results/latest"),
    index: IndexOpt = None,
    notes: NotesOpt = None,
) -> None:
    """recall@k, MRR, nDCG and hit@2000chars for each configuration, side by side."""
    report = run_eval(
        "retrieval",
        notes,
        index,
        configs=split_list(configs),
        dataset=dataset,
        split=split,
        chunk_sweep=chunk_sizes(sweep),
    )
    show_retrieval(report, out_dir)


@eval_app.command("answers")
def eval_answers(
    dataset: DatasetOpt = None,
    split: SplitOpt = "test",
    limit: LimitOpt = 0,
    answer_configs: AnswerConfigsOpt = "verified,extractive,raw,no-retrieval",
    out_dir: OutOpt = Path("eval/results/latest"),
    index: IndexOpt = None,
    notes: NotesOpt = None,
) -> None:
    """Faithfulness, relevance, correctness, citations and abstention of answers made each way.

    The ways: verified, extractive, raw, and no retrieval at all."""
    show_answers(
        run_eval(
            "answers",
            notes,
            index,
            dataset=dataset,
            split=split,
            limit=limit,
            answer_configs=split_list(answer_configs),
        ),
        out_dir,
    )


@eval_app.command("abstention")
def eval_abstention(
    dataset: DatasetOpt = None,
    out_dir: OutOpt = Path("eval/results/abstention"),
    index: IndexOpt = None,
    notes: NotesOpt = None,
) -> None:
    """Abstention against false abstention as the threshold moves, on the tuning and held-out questions (no LLM)."""
    from eval.abstention import write_abstention_report

    curves = run_eval("abstention", notes, index, dataset=dataset)
    s = make_assistant(notes, index).settings
    thresholds = {"abstain_below": s.abstain_below, "abstain_unless_supported_below": s.abstain_unless_supported_below}
    paths = write_abstention_report(curves, thresholds, out_dir, "rag " + " ".join(sys.argv[1:]))
    out.print((out_dir / "abstention.md").read_text(), markup=False, highlight=False)
    out.print("wrote " + ", ".join(str(p) for p in paths))


@eval_app.command("all")
def eval_all(
    dataset: DatasetOpt = None,
    configs: ConfigsOpt = "naive,bm25,dense,rrf,hybrid",
    sweep: SweepOpt = "",
    split: SplitOpt = "test",
    limit: LimitOpt = 0,
    out_dir: OutOpt = Path("eval/results/latest"),
    index: IndexOpt = None,
    notes: NotesOpt = None,
) -> None:
    """Both evaluations, one report folder."""
    results = run_eval(
        "all",
        notes,
        index,
        configs=split_list(configs),
        dataset=dataset,
        split=split,
        chunk_sweep=chunk_sizes(sweep),
        limit=limit,
    )
    show_retrieval(results["retrieval"], out_dir)
    show_answers(results["answers"], out_dir)
