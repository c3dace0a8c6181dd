import math

import pytest

from s6lib.exercises import answer_box, tolerance_for


def test_an_answer_box_accepts_its_answer_to_the_stated_digits_and_nothing_further():
    box = answer_box(0.0128808, "∂E/∂w5 =")
    assert box.tolerance == pytest.approx(5e-5)
    assert box.accepts(0.01288) and box.accepts(0.0129) and box.accepts(0.0128808) and not box.accepts(0.013)
    assert not box.accepts(-0.0128808)
    assert answer_box(250.0, digits=2).tolerance == pytest.approx(5.0)


def test_the_box_is_a_form_that_names_its_answer_and_tolerance_and_checks_in_the_page():
    html = answer_box(0.5, "a =")._repr_html_()
    assert 'class="s6-answer"' in html and 'data-answer="0.5"' in html and "<script>" in html
    assert 'aria-live="polite"' in html and "<label" in html


@pytest.mark.parametrize("bad", [0.0, math.inf, math.nan])
def test_an_answer_that_cannot_be_checked_is_refused(bad):
    with pytest.raises(ValueError, match="finite, non-zero"):
        tolerance_for(bad)
