"""The course's bar, budgets and goals for Part 2, as data (no torch): every module that judges a run
takes its numbers from here.

The strict bar: every seed at or above TARGET (% test accuracy) in each of its last LAST epochs.
A `Goal` adds to it a mean over the seeds, a parameter budget and an epoch budget;
s6lib.analysis.results.claim judges a recipe's records against one.
"""

from __future__ import annotations

from dataclasses import dataclass

TARGET = 99.4  # % test accuracy: the assignment's bar
LAST = 3  # every seed must hold TARGET in each of its last LAST epochs
EPOCHS = 15  # the assignment's epoch budget, and the cap of every tuning round
PARAMETERS = 20_000  # the assignment's parameter budget (at most)
SMALL_PARAMETERS = 8_000  # the going-further chapter's budget (fewer than)
SEEDS = (1, 2, 3, 4, 5)  # the seeds a final result is measured over, on the test set
TRAIN_IMAGES, TEST_IMAGES = 60_000, 10_000  # MNIST's training and test sets


@dataclass(frozen=True)
class Goal:
    """What a recipe's records must show, over at least `seeds` complete seeds."""

    mean_final: float | None  # mean final test accuracy, % (None: not part of this goal)
    each_last: float = TARGET  # every seed, in each of its last LAST epochs, %
    parameters: int = PARAMETERS  # at most
    epochs: int = EPOCHS  # at most
    seeds: int = len(SEEDS)

    @property
    def parameters_text(self) -> str:
        """The budget as the pages say it: "≤ 20,000", or "< 8,000" for a budget of 7,999."""
        limit = self.parameters + 1
        return f"< {limit:,}" if limit % 1000 == 0 else f"≤ {self.parameters:,}"

    @property
    def parameters_words(self) -> str:
        """The budget in words: "at most 20,000 parameters", "fewer than 8,000 parameters"."""
        limit = self.parameters + 1
        return (f"fewer than {limit:,}" if limit % 1000 == 0 else f"at most {self.parameters:,}") + " parameters"


HEADLINE = Goal(99.45)  # chapter 2's goal for the fast recipe
SMALL = Goal(None, parameters=SMALL_PARAMETERS - 1)  # the bar, under 8,000 parameters
TRACKS = {  # the tuned recipes' goals (the Methods appendix's two tracks)
    "best": Goal(99.60, 99.50),
    "best-small": Goal(99.50, 99.40, parameters=SMALL_PARAMETERS - 1),
}
