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
