"""The GitHub workflows: valid against GitHub's schema (offline), building with the README's own command,
and deploying to Pages only from main."""

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from conftest import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
FAST_TESTS = '.venv/bin/python -m pytest -m "not slow"'  # the README's command for the fast tests
CHECK = [str(Path(sys.executable).with_name("check-jsonschema")), "--builtin-schema", "vendor.github-workflows"]


def readme_command(target: str) -> str:
    """The README's set-up command for `target` ("book" or "test"), from its code block."""
    block = re.search(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S)[1]
    return next(line.split("#")[0].strip() for line in block.splitlines() if line.startswith(f"make {target}"))


def test_there_is_a_workflow():
    assert [p.name for p in WORKFLOWS] == ["book.yml"]


@pytest.mark.parametrize("path", WORKFLOWS, ids=[p.name for p in WORKFLOWS])
def test_each_workflow_follows_githubs_schema(path):
    result = subprocess.run([*CHECK, str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_broken_workflow_fails_the_check(tmp_path):
    broken = tmp_path / "book.yml"
    workflow = yaml.safe_load((ROOT / ".github/workflows/book.yml").read_text())
    del workflow["jobs"]["build"]["runs-on"]  # a job with nowhere to run
    workflow["jobs"]["build"]["steps"][0]["uses"] = 42  # and a step that names no action
    broken.write_text(yaml.safe_dump(workflow))
    result = subprocess.run([*CHECK, str(broken)], capture_output=True, text=True)
    assert result.returncode != 0 and "runs-on" in result.stdout + result.stderr


def test_the_book_is_built_with_the_readmes_command_and_deployed_only_from_main():
    workflow = yaml.safe_load((ROOT / ".github/workflows/book.yml").read_text())
    triggers = workflow[True] if True in workflow else workflow["on"]  # YAML 1.1 reads `on` as true
    assert "pull_request" in triggers and triggers["push"]["branches"] == ["main"]
    build, deploy = workflow["jobs"]["build"], workflow["jobs"]["deploy"]
    runs = [step.get("run") for step in build["steps"] if "run" in step]
    assert runs[-1] == readme_command("book") == "make book" and runs.count("make book") == 1  # one way to build
    assert runs[runs.index(FAST_TESTS) - 1] == ".venv/bin/python -m s6lib data"  # MNIST, which CI's tests need
    assert runs.index("make env") < runs.index(FAST_TESTS) < runs.index("make book")  # tested before it deploys
    uploads = [step for step in build["steps"] if str(step.get("uses", "")).startswith("actions/upload-pages-artifact")]
    assert len(uploads) == 1 and uploads[0]["with"]["path"] == "_build/html"
    for condition in (uploads[0]["if"], deploy["if"]):
        assert "github.event_name != 'pull_request'" in condition and "refs/heads/main" in condition
    assert deploy["needs"] == "build" and deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["steps"][-1]["uses"].startswith("actions/deploy-pages@")
    setup_python = next(step for step in build["steps"] if step.get("uses", "").startswith("actions/setup-python"))
    assert setup_python["with"]["cache"] == "pip"


def test_the_workflows_python_is_one_the_package_accepts():
    from packaging.specifiers import SpecifierSet

    workflow = yaml.safe_load((ROOT / ".github/workflows/book.yml").read_text())
    setup_python = next(step for step in workflow["jobs"]["build"]["steps"]
                        if step.get("uses", "").startswith("actions/setup-python"))
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert f"{setup_python['with']['python-version']}.0" in SpecifierSet(requires)
    assert FAST_TESTS in (ROOT / "README.md").read_text()


def test_ci_runs_the_readmes_test_command():
    assert readme_command("test") in (ROOT / ".ci" / "run").read_text()
    assert shutil.which("make")
