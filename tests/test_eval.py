"""Evaluation metrics on hand-computed cases, and a short end-to-end run on the real index."""

import json
import math

import pytest

from eval.dataset import DEFAULT_DATASET, load_questions
from eval.metrics import contains, hit_at_chars, rank_metrics
from eval.report import run_retrieval_eval, write_report


def test_contains_ignores_case_and_spacing():
    assert contains("Batch   normalization\nhelps", "batch normalization helps")
    assert not contains("batch norm helps", "batch normalization helps")


def test_hit_at_chars_counts_the_budget_in_rank_order():
    filler = "x" * 1990
    assert hit_at_chars(["the gold quote", filler], "gold quote", 2000)
    # joined (white space folded) as "xxx… the gold quote": the quote ends at character 2005
    assert not hit_at_chars([filler, "the gold quote"], "gold quote", 2000)
    assert hit_at_chars([filler, "the gold quote"], "gold quote", 2100)


def test_rank_metrics_match_hand_computation():
    qrels = {"q1": {"d1": 1}, "q2": {"d5": 1, "d6": 1}, "q3": {"d9": 1}}
    run = {
        "q1": {"d2": 3.0, "d1": 2.0, "d3": 1.0},  # relevant at rank 2
        "q2": {"d5": 3.0, "d7": 2.0, "d6": 1.0},  # relevant at ranks 1 and 3
        "q3": {},  # nothing retrieved
    }
    m = rank_metrics(qrels, run, ["recall@1", "recall@3", "mrr@10", "ndcg@10"])
    assert m["recall@1"] == pytest.approx((0 + 0.5 + 0) / 3)
    assert m["recall@3"] == pytest.approx((1 + 1 + 0) / 3)
    assert m["mrr@10"] == pytest.approx((0.5 + 1 + 0) / 3)
    ndcg_q1 = 1 / math.log2(3)
    ndcg_q2 = (1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    assert m["ndcg@10"] == pytest.approx((ndcg_q1 + ndcg_q2 + 0) / 3)


def test_dataset_format_and_coverage():
    questions = load_questions()
    answerable = [q for q in questions if q.answerable]
    assert len(answerable) >= 80 and len(questions) - len(answerable) >= 15
    assert {q.source for q in answerable} == {
        "ml-fundamentals.md",
        "ai-applications-summary.txt",
        "ml-in-industry-lecture.txt",
        "life-as-an-ml-engineer.md",
        "accenture-interview-prep.md",
    }
    assert {q.split for q in questions} == {"dev", "test", "holdout", "fresh"}


def test_bad_dataset_line_names_file_and_line(tmp_path):
    path = tmp_path / "qs.jsonl"
    path.write_text('{"id": "a", "question": "q?", "quote": "x"}\n{"id": "b", "question": "no quote"}\n')
    with pytest.raises(ValueError, match="qs.jsonl:2: answerable question b has no quote"):
        load_questions(path)


@pytest.mark.integration  # a question set scored end to end
def test_short_end_to_end_eval_on_the_real_index(shipped, tmp_path):
    subset = tmp_path / "subset.jsonl"
    rows = [json.loads(line) for line in open(DEFAULT_DATASET)]
    subset.write_text("\n".join(json.dumps(r) for r in rows[:24:2] + rows[-2:]) + "\n")
    report = run_retrieval_eval(shipped, ["naive", "bm25", "hybrid"], dataset=subset)
    by_name = {r.name: r for r in report.results}
    assert report.questions == 12
    assert by_name["hybrid"].hit_at_2000 > by_name["naive"].hit_at_2000
    assert set(by_name["hybrid"].per_question) == {r["id"] for r in rows[:24:2]}
    files = write_report(report, tmp_path / "out")
    assert [f.name for f in files] == ["report.json", "report.md", "recall_at_k.png", "per_question.png"]
    assert json.loads(files[0].read_text())["results"][2]["name"] == "hybrid"
    assert "| hybrid |" in files[1].read_text()
    assert files[2].read_bytes()[:4] == b"\x89PNG"


def test_answer_metric_proxies_on_hand_made_answers():
    from eval.answers import Support, abstains, rouge_l, score_answer, token_f1
    from eval.dataset import Question
    from ingest.embed import Embedder
    from rag.types import Answer, Source

    assert token_f1("the cat sat", "the cat sat") == 1.0
    assert token_f1("a cat sat down [1]", "the cat sat") == pytest.approx(2 * (2 / 4) * (2 / 3) / (2 / 4 + 2 / 3))
    assert token_f1("", "x") == 0.0
    assert rouge_l("the cat sat on the mat", "the cat sat on the mat") == pytest.approx(1.0)
    assert abstains("My notes don't cover this.") and abstains("The notes do not contain that.")
    assert not abstains("Dropout removes neurons.")

    block = "Dropout randomly removes neurons during training to prevent overfitting."
    sources = [Source(n=1, source="a.md", heading="a > Dropout", excerpt=block, chunk_id="x", cited=True, text=block)]
    answer = Answer(
        question="What is dropout?",
        text="Dropout randomly removes neurons during training [1]. Bananas are rich in potassium and grow in "
        "bunches [1].",
        sources=sources,
        timings={"total": 1.5},
    )
    q = Question(
        id="t1", question="What is dropout?", quote="x", answer="Dropout removes neurons at random while training."
    )
    score = score_answer(q, answer, Support(Embedder()))
    assert score.faithfulness == 0.5  # one of two sentences is supported by the block
    assert score.citation_precision == 0.5  # both cite [1]; only the first is backed by it
    assert score.citation_valid and not score.abstained
    assert 0 < score.token_f1 < 1 and score.similarity > 0.5 and score.relevance > 0.3


def test_judge_model_decides_support_when_configured():
    from fake_llm import FakeLLM

    from eval.answers import Support, llm_judge
    from rag.llm.client import LLMClient

    with FakeLLM("yes") as yes, FakeLLM("no") as no:
        agree = Support(embedder=None, judge=llm_judge(LLMClient(yes.base_url, "judge")))
        refuse = Support(embedder=None, judge=llm_judge(LLMClient(no.base_url, "judge")))
        assert agree("Bananas are blue.", "Dropout removes neurons.")  # the judge's word, not the proxy's
        assert not refuse("Dropout removes neurons.", "Dropout removes neurons.")
        assert agree.method == "judge model"
    prompt = yes.requests[0]["messages"][0]["content"]
    assert "Statement: Bananas are blue." in prompt and "Passage:\nDropout removes neurons." in prompt
