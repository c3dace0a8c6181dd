"""The book-wide glossary: every term a student must know is defined on the glossary page and, where
the chapters (in reading order) first use it, linked there with {term} and explained.

"First use" is the first match of the term's forms in a chapter's prose: markdown cells, without
headings, code, math, other roles and the chapter-opening "In this chapter" box (which lists what is
to come). "Explained" is checked as a paragraph of prose around the link, not a bare table header,
list label or heading: the words themselves are for a reader to judge.
"""

import json
import re

import pytest

from conftest import ROOT, toc_pages

GLOSSARY = ROOT / "book" / "glossary.md"
NOT_CHAPTERS = {"book/intro", "book/glossary", "book/references", "book/status"}  # overviews and reference pages
MIN_WORDS = 15  # the paragraph of a term's first use: one or two sentences at least
MIN_DEFINITION_WORDS = 8

# glossary term -> regex of its forms in prose; a link to any of the entry's names counts.
PART1 = {
    "Activation": r"\bactivations?\b",
    "Autograd": r"\bautograd\b",
    "Backpropagation": r"\bbackpropagation\b",
    "Bias": r"\bbias(es)?\b",
    "Chain rule": r"\bchain rule\b",
    "Forward pass": r"\bforward pass(es)?\b",
    "Gradient descent": r"\bgradient descent\b",
    "Hidden layer": r"\bhidden layers?\b",
    "Learning rate": r"\blearning rates?\b",
    "Partial derivative": r"\bpartial derivatives?\b",
    "Sigmoid": r"\bsigmoids?\b",
    "Squared error": r"\bsquared errors?\b",
    "Target": r"\btargets?\b",
    "Weight": r"\bweights?\b",
}
PART2 = {
    "Augmentation": r"\baugmentation\b",
    "Batch": r"\bbatch(es)?\b",
    "BatchNorm": r"\bBatchNorm\b|\bbatch normali[sz]ation\b",
    "bf16": r"\bbf16\b",
    "Channel": r"\bchannels?\b",
    "Convolution": r"\bconvolutions?\b",
    "Dropout": r"\bdropout\b",
    "Epoch": r"\bepochs?\b",
    "Feature map": r"\bfeature maps?\b",
    "Global average pooling": r"\bglobal average pooling\b|(?-i:\bGAP\b)",
    "Kernel": r"\bkernels?\b",
    "Label smoothing": r"\blabel smoothing\b",
    "Log-softmax": r"\blog-softmax\b",
    "Max-pool": r"\bmax-pool(s|ing)?\b",
    "Momentum": r"\bmomentum\b",
    "Negative log-likelihood": r"\bnegative log-likelihood\b|\bNLL\b",
    "Nesterov momentum": r"\bNesterov\b",
    "One-cycle schedule": r"\bone-cycle\b",
    "Pipeline A": r"\bpipelines? [AB]\b",
    "Receptive field": r"\breceptive fields?\b",
    "ReLU": r"\bReLUs?\b",
    "Seed": r"\bseeds?\b",
    "SGD": r"\bSGD\b|\bstochastic gradient descent\b",
    "Test set": r"\btest sets?\b",
    "Validation split": r"\bvalidation splits?\b",
    "Weight decay": r"\bweight decay\b",
}
REQUIRED = PART1 | PART2
# Uses of a word in another sense: the text just before such a match.
OTHER_SENSE = {"Kernel": r"(Python|Jupyter|IPython|running|live|no|without an?|needs an?)\s+$"}


def glossary_entries() -> list[list[str]]:
    """The glossary's entries in page order, each the list of its names (an entry may have several)."""
    block = re.search(r"```\{glossary\}\n(.*?)\n```", GLOSSARY.read_text(), re.S)
    assert block, f"{GLOSSARY} has no {{glossary}} block"
    entries, names = [], []
    for line in block[1].splitlines():
        if line and not line[0].isspace():
            names.append(line.strip())
        elif line.strip() and names:
            entries.append(names)
            names = []
    return entries


def definitions() -> dict[str, str]:
    """Each name (lower case) -> its entry's definition text."""
    text = re.search(r"```\{glossary\}\n(.*?)\n```", GLOSSARY.read_text(), re.S)[1]
    out, names, lines = {}, [], []
    for line in text.splitlines() + [""]:
        if line and not line[0].isspace():
            if lines:
                out |= {n.lower(): " ".join(lines) for n in names}
                names, lines = [], []
            names.append(line.strip())
        elif line.strip():
            lines.append(line.strip())
    if lines:
        out |= {n.lower(): " ".join(lines) for n in names}
    return out


ROLE = re.compile(r"\{([a-z:]+)\}`([^`]*)`")


def prose(markdown: str) -> list[tuple[str, list[tuple[int, int, str]]]]:
    """A markdown cell as paragraphs of plain prose, each with the spans of its {term} links (start,
    end, target in lower case)."""
    text = re.sub(r"(:{3,}|`{3,})\{admonition\} In this chapter\n:class: s6-objectives\n.*?\n\1\s*$", "",
                  markdown, flags=re.S | re.M)
    text = re.sub(r"^(`{3,})(?!\{).*?^\1\s*$", "", text, flags=re.S | re.M)  # code blocks
    text = re.sub(r"^(:{3,}|`{3,}).*$", "", text, flags=re.M)  # directive fences (their body is prose)
    text = re.sub(r"^:[a-z-]+:.*$", "", text, flags=re.M)  # directive options
    text = re.sub(r"^#.*$", "", text, flags=re.M)  # headings
    text = re.sub(r"\s*\$\$.*?\$\$\s*", " ", text, flags=re.S)  # display math: its sentence goes on after it
    text = re.sub(r"\$[^$\n]+\$", " ", text)  # inline math
    paragraphs = re.split(r"\n\s*\n|\n(?=\s*(?:[-*+]|\d+\.)\s)", text)
    out = []
    for paragraph in paragraphs:
        plain, spans, pos = "", [], 0
        for m in ROLE.finditer(paragraph):
            plain += _inline(paragraph[pos:m.start()])
            if m[1] == "term":
                shown, _, target = m[2].partition(" <")
                target = target.rstrip(">") or shown
                spans.append((len(plain), len(plain) + len(shown), target.strip().lower()))
                plain += shown
            pos = m.end()
        plain += _inline(paragraph[pos:])
        if plain.strip():
            out.append((plain, spans))
    return out


def _inline(text: str) -> str:
    text = re.sub(r"`[^`]*`", " ", text)  # inline code
    text = re.sub(r"</?[a-zA-Z][^>\n]*>", " ", text)  # HTML tags
    return re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links keep their text


def chapters() -> list[tuple[str, int, str]]:
    """(page, cell number, markdown) of every markdown cell of every chapter, in reading order."""
    cells = []
    for page in toc_pages():
        path = ROOT / f"{page}.ipynb"
        if page in NOT_CHAPTERS or not path.exists():
            continue
        for number, cell in enumerate(json.loads(path.read_text())["cells"]):
            if cell["cell_type"] == "markdown":
                cells.append((page, number, "".join(cell["source"])))
    return cells


def first_use(term: str):
    """(page, cell, paragraph text, whether the match is inside a {term} link to this term's entry),
    for the first use of `term` in the chapters; None if they never use it."""
    names = next((set(n.lower() for n in e) for e in glossary_entries() if term.lower() in map(str.lower, e)),
                 {term.lower()})
    pattern, other = re.compile(REQUIRED[term], re.I), OTHER_SENSE.get(term)
    for page, number, markdown in chapters():
        for plain, spans in prose(markdown):
            for m in pattern.finditer(plain):
                if other and re.search(other, plain[max(0, m.start() - 25):m.start()], re.I):
                    continue
                linked = any(a <= m.start() and m.end() <= b and target in names for a, b, target in spans)
                return page, number, plain, linked
    return None


def test_each_glossary_entry_starts_after_a_blank_line():
    """Sphinx warns (and -W fails the build) when a term follows a definition line directly."""
    lines = re.search(r"```\{glossary\}\n(.*?)\n```", GLOSSARY.read_text(), re.S)[1].splitlines()
    crowded = [line for before, line in zip(lines, lines[1:]) if line and not line[0].isspace()
               and before.startswith(" ")]
    assert not crowded, f"glossary.md: add a blank line before {crowded}"


def test_the_glossary_is_in_alphabetical_order_and_has_no_repeated_name():
    firsts = [entry[0] for entry in glossary_entries()]
    assert firsts == sorted(firsts, key=str.lower), "glossary.md: entries out of alphabetical order"
    names = [n.lower() for entry in glossary_entries() for n in entry]
    assert len(names) == len(set(names)), \
        f"glossary.md names a term twice: {sorted(n for n in names if names.count(n) > 1)}"


@pytest.mark.parametrize("term", sorted(REQUIRED, key=str.lower))
def test_every_required_term_is_defined(term):
    definition = definitions().get(term.lower())
    assert definition, f"the glossary has no entry {term!r}: add it to book/glossary.md (alphabetical order)"
    assert len(definition.split()) >= MIN_DEFINITION_WORDS, f"the glossary's {term!r} is not yet a definition"


@pytest.mark.parametrize("term", sorted(REQUIRED, key=str.lower))
def test_every_required_term_is_linked_and_explained_where_the_book_first_uses_it(term):
    found = first_use(term)
    assert found, f"no chapter uses {term!r}: drop it from the required terms, or use it"
    page, number, paragraph, linked = found
    where = f"{page}.ipynb, cell {number}: {' '.join(paragraph.split())[:160]!r}"
    assert linked, f"{term!r} is first used without a {{term}} link to its glossary entry, in {where}"
    assert len(paragraph.split()) >= MIN_WORDS, f"{term!r} is linked at its first use but not explained, in {where}"


def test_every_term_link_names_a_glossary_entry():
    names = set(definitions())
    unknown = sorted({(page, target) for page, _, markdown in chapters() for _, spans in prose(markdown)
                      for _, _, target in spans if target not in names})
    assert not unknown, f"{{term}} links to no glossary entry: {unknown}"


def test_the_prose_reader_finds_links_and_skips_code_math_and_the_objectives_box():
    cell = ("# BatchNorm\n\n:::{admonition} In this chapter\n:class: s6-objectives\n- what BatchNorm does\n:::\n\n"
            "`BatchNorm` in code, $BatchNorm$ in math, then {term}`batch normalization <BatchNorm>` here.")
    (plain, spans), = prose(cell)
    start = plain.index("batch normalization")
    assert spans == [(start, start + len("batch normalization"), "batchnorm")]
    assert re.search(PART2["BatchNorm"], plain, re.I).start() == start
