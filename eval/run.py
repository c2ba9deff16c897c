"""One entry to every evaluation of an `Assistant`, as the CLI and the browser app run them."""

from __future__ import annotations

from pathlib import Path

KINDS = ("retrieval", "answers", "abstention", "all")


def evaluate(
    assistant,
    kind: str = "retrieval",
    configs: list[str] | None = None,
    dataset: Path | None = None,
    split: str = "all",
    chunk_sweep: list[int] = (),
    limit: int = 0,
    progress=None,
    answer_configs: list[str] | None = None,
):
    """`retrieval`: this configuration beside the baselines (a RetrievalReport); `answers`: answers
    made each way (`eval.answers.CONFIGURATIONS`: verified, extractive, raw, no-retrieval), an
    AnswerSummary list; `abstention`: the abstention curves; `all`: retrieval and answers, as a dict."""
    if kind not in KINDS:
        raise ValueError(f"unknown evaluation {kind!r}; choose {', '.join(KINDS[:-1])} or all")
    results = {}
    if kind in ("retrieval", "all"):
        from eval.report import CONFIGS, run_retrieval_eval

        results["retrieval"] = run_retrieval_eval(
            assistant, list(configs or CONFIGS), list(chunk_sweep), dataset, split, progress=progress
        )
    if kind in ("answers", "all"):
        results["answers"] = _answers(assistant, dataset, split, limit, progress, answer_configs)
    if kind == "abstention":
        results["abstention"] = _abstention(assistant, dataset, progress)
    return results if kind == "all" else results[kind]


def _answers(assistant, dataset, split, limit, progress, answer_configs):
    from eval.answers import CONFIGURATIONS, evaluate_answers, llm_judge
    from eval.dataset import load_questions

    questions = load_questions(dataset, split=split)
    if limit:
        answerable = [q for q in questions if q.answerable][:limit]
        questions = answerable + [q for q in questions if not q.answerable][: max(1, limit // 3)]
    client = assistant.judge_client()
    judge = llm_judge(client) if client else None
    assistant.ensure_llm()
    return evaluate_answers(assistant, questions, judge, progress, answer_configs or CONFIGURATIONS)


def _abstention(assistant, dataset, progress):
    from eval.abstention import HELD_OUT, TUNING, curve, scores
    from eval.dataset import load_questions

    everything = load_questions(dataset)
    return [
        curve(name, scores(assistant, [q for q in everything if q.split in splits], progress))
        for name, splits in (("tuning (dev + test)", TUNING), ("held out (holdout)", HELD_OUT))
    ]
