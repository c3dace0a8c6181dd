"""Which edition of the book a build or a notebook is: the full one, with solutions, answers and
the finished workbook, or the student one, with none of them (`make student`).

The student edition's build and its notebooks set S6_EDITION=student; everything that differs
between the editions asks `student()`, so the choice is made in one place.
"""

from __future__ import annotations

import os

ENV_VAR = "S6_EDITION"
EDITIONS = ("full", "student")


def current() -> str:
    """The edition named by $S6_EDITION: "full" when unset."""
    value = os.environ.get(ENV_VAR, "").strip().lower() or "full"
    if value not in EDITIONS:
        raise ValueError(f"{ENV_VAR}={value!r}: the editions are {', '.join(EDITIONS)} (unset means full)")
    return value


def student() -> bool:
    """Whether this is the student edition (no solutions, no answer values, a starter workbook)."""
    return current() == "student"
