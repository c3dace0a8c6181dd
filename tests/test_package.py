"""s6lib's shape: every module is named, with what it does, in its subpackage's map (the subpackage's
docstring), and every subpackage with its modules in the map of s6lib (s6lib/__init__.py); and the
plans, the records and what reads them load without torch."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

PACKAGE = ROOT / "s6lib"
ENTRY = re.compile(r"^    (\w+)\s{2,}\S", re.M)  # "    name   what it does"


def docstring(path: Path) -> str:
    return ast.get_docstring(ast.parse(path.read_text()), clean=False) or ""


def subpackages(package: Path = PACKAGE) -> list[str]:
    return sorted(p.parent.name for p in package.glob("*/__init__.py"))


def modules_on_disk(folder: Path) -> set[str]:
    return {p.stem for p in folder.glob("*.py") if p.stem != "__init__"}


def subpackage_map(package: Path, name: str) -> set[str]:
    """The modules s6lib/<name>/__init__.py lists, one a line: "    module   what it does"."""
    return set(ENTRY.findall(docstring(package / name / "__init__.py")))


def top_map(package: Path = PACKAGE) -> dict[str, set[str]]:
    """{subpackage: its modules} as s6lib/__init__.py lists them: a line "    name/   what it is",
    then its modules, comma-separated, on the more indented lines below; under "" the top-level
    modules, "    name   what it does"."""
    found: dict[str, set[str]] = {"": set()}
    current = None
    for line in docstring(package / "__init__.py").splitlines():
        if match := re.match(r"^    (\w+)/\s{2,}\S", line):
            current = match[1]
            found[current] = set()
        elif current and re.fullmatch(r" {8,}\w+(, \w+)*,?", line):
            found[current] |= {name.strip() for name in line.split(",") if name.strip()}
        else:
            current = None
            if match := ENTRY.match(line):
                found[""].add(match[1])
    return found


def map_problems(package: Path = PACKAGE) -> list[str]:
    """Each module missing from a map, and each name in a map that is no module."""
    problems = []
    mapped = top_map(package)
    for name in subpackages(package):
        on_disk = modules_on_disk(package / name)
        for where, listed in ((f"s6lib/{name}/__init__.py", subpackage_map(package, name)),
                              (f"s6lib/__init__.py under {name}/", mapped.get(name, set()))):
            problems += [f"{where} lacks {m}" for m in sorted(on_disk - listed)]
            problems += [f"{where} names {m}, which is no module" for m in sorted(listed - on_disk)]
    problems += [f"s6lib/__init__.py names {name}/, which is no subpackage" for name in set(mapped) - {""}
                 if name not in subpackages(package)]
    top = modules_on_disk(package)
    problems += [f"s6lib/__init__.py lacks {m}" for m in sorted(top - mapped[""])]
    problems += [f"s6lib/__init__.py names {m}, which is no module" for m in sorted(mapped[""] - top)]
    return problems


def test_every_module_is_in_its_maps_and_every_name_in_a_map_is_a_module():
    assert {"backprop", "mnist", "lab", "analysis", "book"} <= set(subpackages())
    assert not map_problems(), "\n".join(map_problems())


def test_modules_sit_in_the_subpackages():
    assert modules_on_disk(PACKAGE) == {"__main__"}, "a module belongs in a subpackage (and in its map)"
    nested = [p for p in PACKAGE.glob("*/*/**/*.py")]
    assert not nested, f"s6lib has one level of subpackages: {nested}"


def test_the_map_check_finds_a_module_missing_and_a_name_left_over(tmp_path):
    fake = tmp_path / "s6lib"
    (fake / "lab").mkdir(parents=True)
    (fake / "__init__.py").write_text('"""Map.\n\n    lab/   runs\n           records, gone\n\n'
                                      '    __main__   the CLI\n"""\n')
    (fake / "__main__.py").write_text("")
    (fake / "lab" / "__init__.py").write_text('"""Lab.\n\n    records   the schema\n    gone      removed\n"""\n')
    for name in ("records", "new"):
        (fake / "lab" / f"{name}.py").write_text("")
    assert top_map(fake) == {"": {"__main__"}, "lab": {"records", "gone"}}
    assert map_problems(fake) == ["s6lib/lab/__init__.py lacks new",
                                  "s6lib/lab/__init__.py names gone, which is no module",
                                  "s6lib/__init__.py under lab/ lacks new",
                                  "s6lib/__init__.py under lab/ names gone, which is no module"]


TRAINS = {"lab": {"sweep", "bench"}}  # the lab's modules that train, and so load torch
TORCH_FREE = ("lab", "analysis", "backprop")  # subpackages whose other modules load no torch
PLANS_NEED = ("s6lib.mnist.specs", "s6lib.mnist.recipes")  # what the plans import from Part 2's code


def torch_free_modules() -> list[str]:
    return [f"s6lib.{package}.{name}" for package in TORCH_FREE
            for name in sorted(modules_on_disk(PACKAGE / package) - TRAINS.get(package, set()))] + list(PLANS_NEED)


@pytest.mark.slow  # a fresh interpreter
def test_plans_records_and_what_reads_them_load_no_torch():
    """In a fresh interpreter, each module of lab/ but those that train, of analysis/ and of backprop/
    is imported in turn, and torch is not loaded after any of them. A last module that does load it,
    s6lib.mnist.models, shows the check sees torch."""
    code = ("import importlib, sys\n"
            "for name in sys.argv[1:]:\n"
            "    importlib.import_module(name)\n"
            "    if 'torch' in sys.modules:\n"
            "        sys.exit(print(name))\n")
    modules = torch_free_modules()
    assert {"s6lib.lab.records", "s6lib.lab.experiments", "s6lib.lab.runs", "s6lib.analysis.results",
            "s6lib.analysis.ablations", "s6lib.backprop.network"} <= set(modules)
    result = subprocess.run([sys.executable, "-c", code, *modules, "s6lib.mnist.models"], capture_output=True,
                            text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-1500:]
    assert result.stdout.strip() == "s6lib.mnist.models", f"{result.stdout.strip()} loads torch"
