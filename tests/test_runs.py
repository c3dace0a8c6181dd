"""Finding the run records: in this copy of the book, or fetched from the repository (a local stand-in)."""

import functools
import http.server
import io
import json
import tarfile
import threading

import pytest

from s6lib import runs
from s6lib.runs import REPOSITORY_ENV, RUNS_ENV, archive_url, fetch_runs, locate_runs

from conftest import ROOT


@pytest.fixture
def no_env(monkeypatch, tmp_path):
    monkeypatch.delenv(RUNS_ENV, raising=False)
    monkeypatch.delenv(REPOSITORY_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def test_a_chapter_finds_the_runs_folder_of_its_book(tmp_path, monkeypatch, no_env):
    chapter = tmp_path / "book" / "mnist"
    chapter.mkdir(parents=True)
    found = locate_runs(chapter)
    assert found.path is None and f"${REPOSITORY_ENV}" in found.source and "Run the first cell" in found.source
    (tmp_path / "book" / "runs").mkdir()
    assert locate_runs(chapter).path == (tmp_path / "book" / "runs").resolve()
    monkeypatch.setenv(RUNS_ENV, str(tmp_path / "nowhere"))
    found = locate_runs(chapter)
    assert found.path is None and "is not a folder" in found.source


def repository_archive(files: dict[str, bytes], top: str = "s6-site-main") -> bytes:
    """A .tar.gz laid out as GitHub serves a branch: everything under one top folder."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.fixture
def server():
    """A stand-in for the repository's host: serves `server.files[path]`, counts requests."""
    files, hits = {}, []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            body = files.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield type("Server", (), {"url": f"http://127.0.0.1:{httpd.server_port}/s6/site", "files": files, "hits": hits})
    httpd.shutdown()


def committed_records() -> dict[str, bytes]:
    return {p.relative_to(ROOT).as_posix(): p.read_bytes() for p in (ROOT / "book" / "runs").rglob("*.json")}


def test_a_chapter_opened_alone_fetches_checks_and_caches_the_records(server, tmp_path, monkeypatch, no_env):
    server.files["/s6/site/archive/refs/heads/main.tar.gz"] = repository_archive(
        {**committed_records(), "README.md": b"not a record", "book/intro.md": b"# no"})
    monkeypatch.setenv(REPOSITORY_ENV, f"{server.url}@main")
    found = locate_runs(tmp_path)  # a folder with no book/runs, as Colab's /content
    assert found.path is not None and "fetched from http://127.0.0.1" in found.source
    fetched = sorted(p.relative_to(found.path).as_posix() for p in found.path.rglob("*.json"))
    assert fetched == sorted(name.removeprefix("book/runs/") for name in committed_records())
    assert len(server.hits) == 1
    assert locate_runs(tmp_path).path == found.path and len(server.hits) == 1  # the cache, no second download


def test_offline_with_no_cache_the_page_says_what_is_missing_and_how_to_get_it(tmp_path, monkeypatch, no_env):
    monkeypatch.setenv(REPOSITORY_ENV, "http://127.0.0.1:9/s6/site@main")  # nothing listens on port 9
    found = locate_runs(tmp_path)
    assert found.path is None
    assert "fetching them from http://127.0.0.1:9/s6/site/archive/refs/heads/main.tar.gz failed" in found.source
    assert f"set ${RUNS_ENV} to its book/runs" in found.source


def test_offline_an_older_copy_is_used_and_said_to_be_older(server, tmp_path, monkeypatch, no_env):
    server.files["/s6/site/archive/refs/heads/main.tar.gz"] = repository_archive(committed_records())
    repository = f"{server.url}@main"
    assert fetch_runs(repository).path is not None
    monkeypatch.setattr(runs, "FRESH_SECONDS", 0)  # the copy is now "old": ask the network again
    server.files.clear()  # ... which answers 404
    found = fetch_runs(repository)
    assert found.path is not None and "A newer copy could not be fetched" in found.source


@pytest.mark.parametrize("files, problem", [
    ({"book/runs/cpu/fast-s1.json": b"{not json"}, "cannot read a JSON record"),
    ({"book/runs/cpu/fast-s1.json": json.dumps({"schema_version": 3}).encode()}, "is missing"),
    ({"README.md": b"no records"}, "holds no book/runs/ records"),
])
def test_a_bad_archive_is_refused_and_the_page_says_why(server, tmp_path, files, problem, no_env):
    server.files["/s6/site/archive/refs/heads/main.tar.gz"] = repository_archive(files)
    found = fetch_runs(f"{server.url}@main")
    assert found.path is None and problem in found.source


def test_the_archive_url_is_githubs():
    assert archive_url("https://github.com/s6-course/s6-site@main") == \
        "https://github.com/s6-course/s6-site/archive/refs/heads/main.tar.gz"
    with pytest.raises(ValueError, match="expected <url>@<branch>"):
        archive_url("https://github.com/s6-course/s6-site")


def test_names_outside_book_runs_never_leave_the_archive(server, tmp_path, no_env):
    record = (ROOT / "book/runs/cpu/seed-s1.json").read_bytes()
    server.files["/s6/site/archive/refs/heads/main.tar.gz"] = repository_archive(
        {"book/runs/cpu/seed-s1.json": record, "book/runs/../../evil.json": b"{}"})
    found = fetch_runs(f"{server.url}@main")
    assert found.path is not None
    assert [p.name for p in found.path.rglob("*.json")] == ["seed-s1.json"]
    assert not (tmp_path / "evil.json").exists()
