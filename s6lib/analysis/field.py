"""Where the field stands: public small-MNIST results the best recipes are compared with (course data).

Each row was read off the notebook's own training log: single runs, at most 15 epochs,
test accuracy as the notebook printed it. None reports more than one seed. The book's own rows
come from its run records, never from here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PublicResult:
    repository: str  # owner/name on GitHub
    notebook: str  # path inside it
    parameters: int
    epochs: int
    best: float  # best test accuracy of any epoch, %
    final: float | None  # test accuracy after the last epoch, %; None where the source gives only one number
    note: str = ""

    @property
    def url(self) -> str:
        return f"https://github.com/{self.repository}/blob/HEAD/{self.notebook}"


PUBLIC_RESULTS = (
    PublicResult("GadirajuSanjayvarma/EVA4", "S5/EVA4_S5_05.ipynb", 7_758, 15, 99.63, 99.63),
    PublicResult("hemendra-06/EVA4", "S5/S5_F05.ipynb", 7_758, 15, 99.51, 99.50, "the same net with dropout 0.06"),
    PublicResult("sagarigrandhi/EVA4", "S5/Assignment_5_F7.ipynb", 9_994, 15, 99.61, 99.60),
    PublicResult("dine1717/ERA2", "Session7/Step_5.ipynb", 8_172, 15, 99.57, None),
    PublicResult("adilsammar/woolly-of-cv", "MNIST_ALBUMENTATION_3762_99.52.ipynb", 3_762, 15, 99.52, None),
)
