"""The interview grader against hand-labelled answers (eval/datasets/interview_answers.jsonl), with the
real embedding model and the concepts the project's extraction finds in the shipped notes.

The embedding thresholds were calibrated on the `tuning` split only; `held_out` and `held_out_2` were
scored after they were frozen (eval/datasets/README.md says how each was written). The support head's and
the contradiction's thresholds (issue #21) were chosen looking at all three splits of that set; its
held-out set, `interview_answers_v2.jsonl`, was scored once after (eval/results/interview-v2.md) and is
not asserted on here beyond finding each row's section. Then the point-by-point cases: a reversed fact
shown as contradicted with the candidate's own sentence, and the issue's worst cases as regressions."""

import json

import pytest
from helpers import NOTES, rag

from eval.interview import BARS, V2, V2_BARS, evaluate, load_answers, v2_passes, v2_section
from rag import Assistant
from rag.interview.check import section_concept
from rag.interview.concepts import concepts_from_chunks

HELD_OUT = ("held_out", "held_out_2")
pytestmark = pytest.mark.integration  # whole labelled sets graded end to end


@pytest.fixture(scope="module")
def reports(shipped_index):
    assistant = Assistant(notes_dir=NOTES, index_dir=shipped_index)
    return {r.split: r for r in evaluate(concepts_from_chunks(assistant.index.chunks), assistant.embedder)}


def test_the_labelled_set_covers_every_kind_of_answer_in_each_split():
    answers = load_answers()
    assert len(answers) >= 60
    for split in ("tuning", *HELD_OUT):
        labels = {a.label for a in answers if a.split == split}
        assert labels == {"correct_paraphrase", "correct_terse", "partial", "wrong_on_topic", "empty"}, split
    concepts = {split: {a.concept for a in answers if a.split == split} for split in ("tuning", *HELD_OUT)}
    assert not concepts["tuning"] & (concepts["held_out"] | concepts["held_out_2"])  # split by concept


def test_the_tuning_split_meets_the_issue_bars(reports):
    r = reports["tuning"]
    assert r.passes, r


@pytest.mark.parametrize("split", HELD_OUT)
def test_held_out_correct_answers_score_high_and_rank_with_the_labels(reports, split):
    r = reports[split]
    assert r.correct >= BARS["correct"], r
    assert r.by_label["correct_paraphrase"] > r.by_label["partial"] > r.by_label["empty"] == 0, r
    # a floor under what was measured (0.75 / 0.72 with the support head), below the issue's 0.8: see the next test
    assert r.spearman >= 0.7, r


@pytest.mark.xfail(
    strict=True,
    reason="an embedding model cannot tell a reversed fact from the right one: "
    "wrong-but-on-topic answers average 2.5 and 5.0 on the held-out splits (issue #13 bar: <= 2)",
)
@pytest.mark.parametrize("split", HELD_OUT)
def test_held_out_meets_the_issue_bars(reports, split):
    r = reports[split]
    assert r.correct >= BARS["correct"] and r.wrong <= BARS["wrong"] and r.spearman >= BARS["spearman"], r


# ---- point by point: covered, contradicted, missing (issue #21) ----------------------------------------
GINI = ("What does the Gini index tell you about a node?", "ml-fundamentals.md", "Understanding the Gini Index")
TREES = ("How are decision trees regularized?", "ml-fundamentals.md", "For Decision Trees")
HEADS = ("What is attention?", "ai-applications-summary.txt", "ATTENTION")
ATTENTION_RIGHT = (
    "Attention gives each token a different importance by computing soft weights within a context window, and it "
    "looks at all tokens of the input. Each head has its own Wq, Wk and Wv, so different heads look for different "
    "patterns."
)


@pytest.fixture(scope="module")
def coach(shipped_index):
    return Assistant(notes_dir=NOTES, index_dir=shipped_index)


def graded(coach, case, answer):
    question, source, heading = case
    return coach.grade(question, answer, source=source, heading=heading)


@pytest.mark.parametrize(
    ("case", "wrong", "right"),
    [
        (
            TREES,
            "Pruning grows the tree deeper, and having no maximum depth is the traditional way to regularize a tree.",
            "You regularize a tree by pruning it, limiting its maximum depth and requiring a minimum number of "
            "samples per leaf.",
        ),
        (
            HEADS,
            "Attention gives each token a different importance by computing soft weights within a context window, "
            "and it looks at all tokens of the input. All heads share the same Wq, Wk, Wv.",
            ATTENTION_RIGHT,
        ),
    ],
    ids=["pruning", "heads"],
)
def test_a_reversed_fact_is_contradicted_with_the_candidates_sentence_and_scores_low(coach, case, wrong, right):
    bad, good = graded(coach, case, wrong), graded(coach, case, right)
    assert bad.contradicted and bad.score <= 3.0, bad  # one wrong fact among right ones: 2.7 measured
    said = bad.contradicted[0].said
    assert said and said in wrong and ("no maximum depth" in said or "share the same" in said)
    assert not good.contradicted and good.score >= 7.5, good
    assert not {k.text for k in bad.contradicted} & {k.text for k in bad.covered + bad.missed}


def test_a_higher_gini_index_for_a_purer_node_scores_below_the_right_answer(coach):
    wrong = graded(coach, GINI, "A higher Gini index means a purer node, so the split aims at a high Gini index.")
    right = graded(coach, GINI, "A lower Gini index means a purer node: most of its points belong to one class.")
    assert wrong.score < right.score and wrong.score <= 5, (wrong, right)


def test_a_sentence_about_two_nodes_is_not_read_as_negating_what_it_also_states(coach):
    # tried in a terminal session: "no birds" (of the other node) was taken to deny "6 Birds" and a right
    # calculation scored 2.2 with its own sentence shown as contradicting the note
    case = (
        'Work through the Gini calculation for splitting on "Has Wings".',
        "ml-fundamentals.md",
        "Gini Index measure to split into nodes > Example",
    )
    right = graded(
        coach,
        case,
        "The winged node has 6 birds and 0 mammals, so its Gini is 1 - (1^2 + 0^2) = 0, and the wingless node "
        "has 4 mammals and no birds, also Gini 0: both children are pure.",
    )
    wrong = graded(coach, case, "The winged node has no birds at all, only mammals.")
    assert not right.contradicted and wrong.contradicted, (right, wrong)


def test_a_correct_answer_with_more_detail_than_the_note_scores_high(coach):
    extra = (
        ATTENTION_RIGHT + " The weights come from a softmax over scaled dot products of queries and keys, and in "
        "practice the heads' outputs are concatenated and projected back to the model width."
    )
    fb = graded(coach, HEADS, extra)
    assert fb.score >= 7.5 and not fb.contradicted, fb


def test_the_model_answer_keeps_the_formula_and_its_subscripts(coach):
    fb = graded(coach, ("What is the TD-Learning update rule?", "ai-applications-summary.txt", None), "I'm not sure")
    assert fb.verdict == "dont_know" and fb.score == 0
    assert "update rule:" in fb.model_answer and r"q(s_t, a_t) \leftarrow" in fb.model_answer, fb.model_answer


PRUNING_WRONG = (
    "Pruning grows the tree deeper, and having no maximum depth is the traditional way to regularize a tree."
)


def test_a_contradiction_reads_you_said_x_your_notes_say_y_on_the_command_line_and_in_the_browser(
    coach, shipped_index, cli_env
):
    from ui.render import feedback_card

    question, source, heading = TREES
    where = ["--notes", str(NOTES), "--index", str(shipped_index), "--source", source, "--heading", heading]
    shown = rag("grade", question, PRUNING_WRONG, *where, env=cli_env)
    assert shown.returncode == 0, shown.stderr
    text = " ".join(shown.stdout.split())
    assert "contradicted: you said “Pruning grows the tree deeper" in text and "your notes say For Decision" in text
    card = feedback_card(graded(coach, TREES, PRUNING_WRONG))
    assert "you said “Pruning grows the tree deeper" in card and "your notes say For Decision Trees" in card


def test_every_v2_answer_finds_its_whole_section_to_be_graded_against(coach):
    rows = [json.loads(line) for line in V2.read_text().splitlines() if line.strip()]
    assert len(rows) >= 150 and len({r["qid"] for r in rows}) >= 40
    for r in rows:
        section = v2_section(coach.index.chunks, r["source"], r["section_quote"])
        assert len({c.heading for c in section}) == 1 and section_concept(section).key_points, r["id"]
    assert v2_passes(dict.fromkeys(V2_BARS, 0.0)) == {k: op == "<=" for k, (op, _) in V2_BARS.items()}
