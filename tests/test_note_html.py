"""Note text in the browser: formulas in every delimiter the notes use become MathML."""

import pytest

from ui.note_html import note_html


@pytest.mark.parametrize(
    "text",
    [
        r"\[ \text{Gini} = 1 - \sum (\text{probability of class})^2 \]",  # notes/ml-fundamentals.md
        r"The loss is \( \frac{1}{n} \sum_i x_i \) here.",
        r"$$ \text{Gini} = 1 - \sum p^2 $$",
        r"Inline $x^2$ too.",
    ],
)
def test_formulas_render_as_mathml_in_every_delimiter(text):
    html = note_html(text)
    assert "<math" in html and "\\text" not in html and "\\frac" not in html and "\\[" not in html


def test_money_and_escaped_brackets_stay_text():
    assert "<math" not in note_html("It costs $5 and $10 [see below].")


def test_interview_feedback_renders_the_notes_formulas_and_keeps_the_candidates_text_as_typed():
    from rag.interview.grading import Feedback, KeyPoint
    from ui.render import feedback_card

    point = KeyPoint(r"Attention is $\mathrm{softmax}(QK^T/\sqrt{d_k})V$.", "notes.md > Attention", 0.3)
    fb = Feedback(2.0, [], [point], r"It is $\sqrt{d_k}$ scaled.", [], verdict="dont_know")
    card = feedback_card(fb, "Q1: What is attention?", answer="<b>$x$</b>")
    assert card.count("<math") == 2 and r"\sqrt" not in card  # the missed point and the model answer
    assert "&lt;b&gt;$x$&lt;/b&gt;" in card  # the candidate's answer: text, never markup or math
    assert "(don&#x27;t know)" in card
