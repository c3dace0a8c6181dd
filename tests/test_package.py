"""s6lib's shape: every module is named, with what it does, in its subpackage's map (the subpackage's
docstring), and every subpackage with its modules in the map of s6lib (s6lib/__init__.py); no import
cycle, and no module using another's private names; the plans, the records and what reads them load
without torch."""

import ast
import re
import subprocess
import sys
from dataclasses import dataclass
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
# what the plans import from Part 2's code
PLANS_NEED = ("s6lib.mnist.specs", "s6lib.mnist.recipes", "s6lib.mnist.goals")


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


# --- imports between modules ---------------------------------------------------------------------


def s6lib_modules() -> dict[str, Path]:
    """Each s6lib module by its dotted name under s6lib ("lab.records", "__main__"; a package by its
    folder's name, "" for s6lib itself), with its file."""
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


@dataclass(frozen=True)
class Imported:
    module: str  # the s6lib module imported, or imported from ("lab.records")
    name: str | None  # the name imported from it; None where the module itself is imported
    local: str  # the name it is bound to


def s6lib_imports_of(source: str, package: tuple[str, ...], modules) -> list[Imported]:
    """What a module of s6lib's `package` ("lab",; () for s6lib itself), whose code is `source`,
    imports from s6lib, anywhere in its code (functions included); `modules`: s6lib's module names."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level:  # from .x import y, from ..lab import x
                base = list(package[:len(package) - node.level + 1]) + (node.module.split(".") if node.module else [])
            elif (node.module or "").split(".")[0] == "s6lib":
                base = node.module.split(".")[1:]
            else:
                continue
            for alias in node.names:  # a module imported by name, else a name from the module
                whole = ".".join(base + [alias.name])
                found.append(Imported(whole, None, alias.asname or alias.name) if whole in modules
                             else Imported(".".join(base), alias.name, alias.asname or alias.name))
        elif isinstance(node, ast.Import):
            found += [Imported(alias.name.removeprefix("s6lib."), None, alias.asname or alias.name)
                      for alias in node.names if alias.name.startswith("s6lib.")]
    return found


def package_of(name: str, path: Path) -> tuple[str, ...]:
    parts = tuple(name.split(".")) if name else ()
    return parts if path.name == "__init__.py" else parts[:-1]


def s6lib_imports() -> dict[str, set[str]]:
    """Each s6lib module -> the s6lib modules it imports, anywhere in its code (functions included)."""
    modules = s6lib_modules()
    return {name: {i.module for i in s6lib_imports_of(path.read_text(), package_of(name, path), modules)} - {name, ""}
            for name, path in modules.items()}


def cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of `graph`, as a path that returns to its start, or None."""
    state: dict[str, str] = {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return path[path.index(nxt):] + [nxt] if nxt in path else [node, nxt]
            if nxt not in state and (found := visit(nxt, path + [nxt])):
                return found
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start, [start])):
            return found
    return None


def test_cycle_finds_a_cycle():
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_s6lib_has_no_import_cycle():
    graph = s6lib_imports()
    assert {"mnist.engine", "mnist.graph", "mnist.train", "analysis.results"} <= set(graph)
    assert "lab.records" in graph["mnist.train"] and "backprop.network" in graph["mnist.answers"]  # .., lazy
    found = cycle(graph)
    assert found is None, "import cycle in s6lib: " + " -> ".join(found)


@pytest.mark.slow
def test_each_module_imports_on_its_own():
    """Each module imported with no other s6lib module loaded before it (one interpreter; s6lib is
    dropped from sys.modules between imports): none leans on another having been imported first."""
    modules = sorted(name for name in s6lib_modules() if name not in ("", "__main__"))
    code = ("import importlib, sys\n"
            "for m in sys.argv[1:]:\n"
            "    for name in [n for n in sys.modules if n == 's6lib' or n.startswith('s6lib.')]:\n"
            "        del sys.modules[name]\n"
            "    try:\n"
            "        importlib.import_module('s6lib.' + m)\n"
            "    except Exception as err:\n"
            "        sys.exit(f's6lib.{m}: {type(err).__name__}: {err}')\n")
    result = subprocess.run([sys.executable, "-c", code, *modules], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-1500:]


@pytest.mark.slow  # three fresh interpreters
def test_part2_does_not_load_part1():
    """Part 2's modules do not load the symbolic 2-2-2 network (torchvision itself imports SymPy, so
    SymPy's presence says nothing about Part 1). That Part 1 loads no torch, tests/test_package.py checks."""
    code = "import sys, importlib; importlib.import_module(sys.argv[1]); print('s6lib.backprop.network' in sys.modules)"
    for module in ("s6lib.mnist.plots", "s6lib.analysis.results", "s6lib.analysis.mistakes"):
        result = subprocess.run([sys.executable, "-c", code, module], capture_output=True, text=True, cwd=ROOT)
        assert result.returncode == 0, result.stderr[-1500:]
        assert result.stdout.strip() == "False", f"{module} loads Part 1"


def private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def private_uses(source: str, package: tuple[str, ...], modules) -> list[str]:
    """Another module's private names that a module uses: `from .x import _name`, or `x._name` where x
    is an s6lib module it imported."""
    imported = s6lib_imports_of(source, package, modules)
    uses = [f"from s6lib.{i.module} import {i.name}" for i in imported if i.name and private(i.name)]
    aliases = {i.local: i.module for i in imported if i.name is None}
    uses += [f"{node.value.id}._{node.attr[1:]} (s6lib.{aliases[node.value.id]})"
             for node in ast.walk(ast.parse(source))
             if isinstance(node, ast.Attribute) and private(node.attr)
             and isinstance(node.value, ast.Name) and node.value.id in aliases]
    return uses


def test_no_module_uses_another_modules_private_names():
    """A name another module needs is public (no underscore) or belongs in that module."""
    modules = s6lib_modules()
    found = {name: uses for name, path in modules.items()
             if (uses := private_uses(path.read_text(), package_of(name, path), modules))}
    assert not found, f"private names used across modules: {found}"


def test_the_private_name_check_finds_both_forms():
    modules = {"backprop", "backprop.network", "backprop.large_rates", "book.style"}
    source = ("from . import network as bp\n"
              "from ..book.style import _missing, table\n"
              "def f():\n"
              "    return bp._stable_sigmoid, bp.iterate, _missing, table._private_too\n")
    assert private_uses(source, ("backprop",), modules) == [
        "from s6lib.book.style import _missing", "bp._stable_sigmoid (s6lib.backprop.network)"]
