"""What a course team's fork needs: the Python the pins need, stated and chosen for Binder; the title
and the repository named once, in _config.yml; the fork's steps in an order that works."""

import re
import tomllib
from importlib import metadata

import yaml
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from conftest import ROOT

CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
README = (ROOT / "README.md").read_text()


def pins() -> dict[str, str]:
    lines = (line.split("#")[0].strip() for line in (ROOT / "requirements.txt").read_text().splitlines())
    return dict(line.split("==", 1) for line in lines if "==" in line)


def lowest_python() -> Version:
    """The lowest Python release pyproject.toml accepts (its requires-python is a lower bound)."""
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    return min(Version(f"3.{minor}") for minor in range(8, 20) if Version(f"3.{minor}") in SpecifierSet(requires))


def test_the_python_floor_is_the_one_the_pinned_packages_need():
    """Every installed pin accepts the lowest Python the package states, and some pin would refuse the one before."""
    floor = lowest_python()
    before = Version(f"{floor.major}.{floor.minor - 1}")
    needs = {}
    for name, version in pins().items():
        try:
            installed = metadata.metadata(name)
        except metadata.PackageNotFoundError:
            continue
        if installed["Version"] == version and installed["Requires-Python"]:
            needs[name] = SpecifierSet(installed["Requires-Python"])
    too_new = {name: str(spec) for name, spec in needs.items() if floor not in spec}
    assert needs and not too_new, too_new
    refusing = sorted(name for name, spec in needs.items() if before not in spec)
    assert refusing, f"no pin needs Python {floor}: the floor could be lower"
    stated = re.search(r"Python (\d+\.\d+) or newer", README)
    assert stated and Version(stated[1]) == floor, "the README states another Python than pyproject.toml"
    runtime = (ROOT / "binder" / "runtime.txt").read_text().strip()
    assert re.fullmatch(r"python-3\.\d+", runtime) and Version(runtime.removeprefix("python-")) in SpecifierSet(
        f">={floor}"), runtime


def test_the_title_and_repository_are_named_in_config_and_the_other_files_agree():
    title, url = CONFIG["title"], CONFIG["repository"]["url"]
    assert README.splitlines()[0] == f"# {title}"
    assert f'"{title}"' in (ROOT / "LICENSE").read_text()
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert citation["title"] == title and citation["repository-code"] == url
    files = (*ROOT.glob("*.*"), *ROOT.glob("binder/*"), *ROOT.glob("s6lib/*.py"), *ROOT.glob("tools/*.py"),
             *ROOT.glob(".github/workflows/*"))
    named = [p.relative_to(ROOT).as_posix() for p in files if p.is_file() and url in p.read_text(errors="ignore")]
    assert sorted(named) == ["CITATION.cff", "_config.yml"], named  # the chapters' copies: tools/sync_notebooks.py


def test_the_fork_steps_create_the_environment_before_using_it():
    section = README[README.index("## Publish the site"):README.index("\n## ", README.index("## Publish the site") + 1)]
    commands = [line.split("#")[0].strip() for line in re.search(r"```bash\n(.*?)```", section, re.S)[1].splitlines()]
    commands = [c.lstrip() for c in commands if c]
    venv = commands.index("make env")
    uses = [i for i, c in enumerate(commands) if c.startswith(".venv/")]
    assert uses and min(uses) > venv
    sync, tests = commands.index(".venv/bin/python tools/sync_notebooks.py"), commands.index(
        '.venv/bin/python -m pytest -m "not slow"')
    assert sync < tests < next(i for i, c in enumerate(commands) if "git push" in c)
    for setting in ("Actions", "Issues", "use_issues_button: false", "Source* to *GitHub Actions"):
        assert setting in section, setting
    assert CONFIG["html"]["use_issues_button"] in (True, False)  # the one setting the README names exists
