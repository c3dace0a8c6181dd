"""What a teacher needs to reuse the book: a licence for the text and one for the code, a way to cite
it, named maintainers, and a bibliography whose every entry a chapter cites."""

import json
import re
from pathlib import Path

import jsonschema
import yaml

from conftest import ROOT, toc_pages

CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
CITE = re.compile(r"\{cite(?::[a-z]+)?\}`([^`]+)`")


def test_the_licence_covers_text_and_code_and_the_readme_says_so():
    licence = (ROOT / "LICENSE").read_text()
    assert "Creative Commons Attribution 4.0" in licence and "creativecommons.org/licenses/by/4.0/legalcode" in licence
    assert "MIT License" in licence and "Permission is hereby granted, free of charge" in licence
    readme = (ROOT / "README.md").read_text()
    assert "CC BY 4.0" in readme and "MIT" in readme and "LICENSE" in readme and "CITATION.cff" in readme


def test_citation_file_is_valid_and_agrees_with_the_config():
    import check_jsonschema

    schema = Path(check_jsonschema.__file__).parent / "builtin_schemas" / "vendor" / "citation-file-format.json"
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    jsonschema.validate(citation, json.loads(schema.read_text()))
    assert citation["title"] == CONFIG["title"]
    assert citation["repository-code"] == CONFIG["repository"]["url"]
    assert citation["license"] == ["CC-BY-4.0", "MIT"]
    maintainers = CONFIG["maintainers"]
    assert maintainers and all(m["name"].strip() for m in maintainers)
    assert [a.get("name") or f"{a['given-names']} {a['family-names']}" for a in citation["authors"]] == \
        [m["name"] for m in maintainers]


def chapter_text(page: str) -> str:
    """The markdown a page's author wrote: a .md file, or a notebook's markdown cells."""
    path = ROOT / f"{page}.md"
    if path.exists():
        return path.read_text()
    nb = json.loads((ROOT / f"{page}.ipynb").read_text())
    return "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")


def bib_keys() -> list[str]:
    return re.findall(r"^@\w+\{([^,\s]+),", (ROOT / "book" / "references.bib").read_text(), flags=re.M)


def test_every_bibliography_entry_is_cited_from_a_chapter():
    """At least 12 works, each cited with {cite} somewhere in the book's chapters (the References page
    lists only cited works, so an uncited entry would silently vanish)."""
    keys = bib_keys()
    assert len(keys) >= 12 and len(set(keys)) == len(keys), f"{len(keys)} entries, or duplicate keys"
    cited = {key.strip() for page in toc_pages() if page != "book/references"
             for group in CITE.findall(chapter_text(page)) for key in group.split(",")}
    unknown = sorted(cited - set(keys))
    assert not unknown, f"cited but not in book/references.bib: {unknown}"
    uncited = [k for k in keys if k not in cited]
    assert not uncited, f"in book/references.bib but cited by no chapter: {uncited}"
