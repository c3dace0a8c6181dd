"""Finding the run records: in this copy of the book, or fetched from the repository (a local stand-in)."""

import http.server
import io
import json
import os
import subprocess
import sys
import tarfile
import textwrap
import threading
import time

import pytest

from s6lib.lab import runs
from s6lib.lab.runs import REPOSITORY_ENV, RUNS_ENV, archive_url, fetch_runs, locate_runs

from conftest import ROOT, repository_archive


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
    assert locate_runs(chapter).path is None, "book/runs outside a checkout (no _config.yml) is not the book's"
    (tmp_path / "_config.yml").write_text("title: a book\n")
    for start in (chapter, tmp_path / "book", tmp_path):
        assert locate_runs(start).path == (tmp_path / "book" / "runs").resolve(), start
    monkeypatch.setenv(RUNS_ENV, str(tmp_path / "nowhere"))
    found = locate_runs(chapter)
    assert found.path is None and "is not a folder" in found.source


def test_training_in_a_chapters_folder_never_hides_the_books_records(mnist_root, tmp_path, monkeypatch, no_env):
    from s6lib.__main__ import main

    checkout = tmp_path / "checkout"  # the book's checkout, its records the committed ones
    chapter = checkout / "book" / "mnist"
    chapter.mkdir(parents=True)
    (checkout / "_config.yml").symlink_to(ROOT / "_config.yml")
    (checkout / "book" / "runs").symlink_to(ROOT / "book" / "runs")
    colab = tmp_path / "content"  # a chapter opened alone, as in Colab
    colab.mkdir()
    books_numbers = [run.status for run in runs.load_runs("training", ROOT / "book" / "runs")]
    assert any(status == "complete" for status in books_numbers)
    for folder in (chapter, colab):
        monkeypatch.chdir(folder)
        for out in ([], ["--out", "runs/fast-net6-s7.json"]):  # the default, then a runs/ of the student's own
            assert main(["train", "--recipe", "fast", "--seed", "7", "--device", "cpu", "--dry-run", "--workers", "0",
                         "--data-root", str(mnist_root), *out]) == 0
        assert len(list((folder / "my-runs").glob("fast-*-s7.json"))) == 1 and (folder / "runs").is_dir()
    monkeypatch.chdir(chapter)
    found = locate_runs()
    assert found.path == (ROOT / "book" / "runs").resolve()
    assert [run.status for run in runs.load_runs("training", found.path)] == books_numbers
    monkeypatch.chdir(colab)
    assert locate_runs().path is None  # no repository to fetch from: none, rather than the student's own


def test_a_page_in_book_reads_book_runs_not_the_runs_train_writes_at_the_root(tmp_path, no_env):
    (tmp_path / "_config.yml").write_text("title: a checkout\n")
    (tmp_path / "runs").mkdir()  # `python -m s6lib train` run at the root writes here
    (tmp_path / "book" / "runs").mkdir(parents=True)
    assert locate_runs(tmp_path / "book").path == (tmp_path / "book" / "runs").resolve()
    assert locate_runs(tmp_path).path == (tmp_path / "book" / "runs").resolve()
    (tmp_path / "book" / "mnist").mkdir()
    assert locate_runs(tmp_path / "book" / "mnist").path == (tmp_path / "book" / "runs").resolve()


class Zeros(io.RawIOBase):
    """`size` zero bytes, read as a file, never held in memory at once."""

    def __init__(self, size: int):
        self.left = size

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.left)
        buffer[:n] = bytes(n)
        self.left -= n
        return n

    def readable(self) -> bool:
        return True


def zeros_archive(name: str, size: int, files: dict[str, bytes] | None = None) -> bytes:
    """A repository archive with one member of `size` zero bytes (a gzip bomb: 300 MB pack into 300 KB)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as archive:
        for path, data in (files or {}).items():
            info = tarfile.TarInfo(f"s6-site-main/{path}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        info = tarfile.TarInfo(f"s6-site-main/{name}")
        info.size = size
        archive.addfile(info, io.BufferedReader(Zeros(size), 2**20))
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
    httpd.daemon_threads = True
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


ARCHIVE = "/s6/site/archive/refs/heads/main.tar.gz"
SEED_S1 = (ROOT / "book/runs/cpu/seed-s1.json").read_bytes()


def cache_listing(tmp_path) -> list[str]:
    """Everything in the fetched-records cache: leftovers would show here."""
    cache = tmp_path / "cache" / "s6lib" / "runs"
    return sorted(p.relative_to(cache).as_posix() for p in cache.rglob("*")) if cache.exists() else []


# --- issue 20: bounds on what a server can make the fetcher do ---------------------------------


@pytest.mark.parametrize("name", ["book/runs/cpu/seed-s1.json", "book/runs/junk/seed-s1.json"])
def test_a_member_larger_than_any_record_is_refused_before_it_is_read(server, tmp_path, no_env, name):
    server.files[ARCHIVE] = zeros_archive(name, 3 * 2**20)
    found = fetch_runs(f"{server.url}@main")
    assert found.path is None and "3.0 MB; a run record is at most 1 MB" in found.source
    assert not [p for p in cache_listing(tmp_path) if p.endswith(".json")]  # nothing kept


def test_an_archive_with_more_files_than_the_book_could_have_is_refused(server, tmp_path, no_env, monkeypatch):
    monkeypatch.setattr(runs, "MAX_RECORDS", 3)  # the real cap is 2,000 (100,002 files took 1.6 MB)
    server.files[ARCHIVE] = repository_archive({f"book/runs/cpu/seed-s{i}.json": SEED_S1 for i in range(4)})
    found = fetch_runs(f"{server.url}@main")
    assert found.path is None and "more than 3 files under book/runs/" in found.source
    assert not [p for p in cache_listing(tmp_path) if p.endswith(".json")]


@pytest.mark.slow
def test_a_gzip_bomb_is_refused_or_skipped_in_bounded_memory(tmp_path):
    """300 MB of zeros in a 300 KB archive, as a record (refused) and as another file (skipped): the
    fetcher's memory peak, measured in a fresh interpreter, stays under 100 MB."""
    script = textwrap.dedent(f"""
        import http.server, json, sys, threading, tracemalloc
        sys.path.insert(0, {str(ROOT / "tests")!r})
        from test_runs import SEED_S1, zeros_archive
        from s6lib.lab.runs import fetch_runs
        size = 300 * 2**20
        archives = {{"/refused": zeros_archive("book/runs/junk/x.json", size),
                     "/skipped": zeros_archive("book/site/big.bin", size, {{"book/runs/cpu/seed-s1.json": SEED_S1}})}}

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = archives[self.path.split("/archive")[0]]
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        def kb(field):  # this process's own memory (VmHWM, unlike ru_maxrss, is not the parent's peak)
            return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith(field + ":"))
        try:  # restart the peak from here: what the imports and the archives took is not the fetcher's
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            pass  # then the peak keeps the imports' and the growth can only read too high
        resident = kb("VmRSS")
        tracemalloc.start()
        found = {{name: fetch_runs(f"http://127.0.0.1:{{httpd.server_port}}/{{name}}@main")
                 for name in ("refused", "skipped")}}
        print(json.dumps({{"found": {{k: [v.path is not None, v.source] for k, v in found.items()}},
                          "compressed": len(archives["/refused"]),
                          "python_peak": tracemalloc.get_traced_memory()[1],
                          "rss_growth": (kb("VmHWM") - resident) * 1024}}))
    """)
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop(RUNS_ENV, None)
    env.pop(REPOSITORY_ENV, None)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    stats = json.loads(result.stdout.splitlines()[-1])
    refused, skipped = stats["found"]["refused"], stats["found"]["skipped"]
    assert not refused[0] and "300.0 MB; a run record is at most 1 MB" in refused[1]
    assert skipped[0] and "(1 files, each validated)" in skipped[1]
    print(f"archive {stats['compressed'] / 2**10:.0f} KB; Python peak {stats['python_peak'] / 2**20:.1f} MB; "
          f"RSS growth at most {stats['rss_growth'] / 2**20:.1f} MB")
    assert stats["compressed"] < 2 * 2**20  # a bomb: 300 MB of zeros in under 1% of that
    assert stats["python_peak"] < 100 * 2**20 and stats["rss_growth"] < 100 * 2**20


@pytest.mark.parametrize("folder", ["checks/cpu-float32", "junk", "cpu"])
def test_every_kept_record_is_validated_whatever_its_folder(server, tmp_path, no_env, folder):
    bad = json.loads(SEED_S1)
    bad["epochs"][-1]["test_acc"] = 130.0
    server.files[ARCHIVE] = repository_archive({"book/runs/cpu/seed-s1.json": SEED_S1,
                                                f"book/runs/{folder}/seed-s2.json": json.dumps(bad).encode()})
    found = fetch_runs(f"{server.url}@main")
    last = len(bad["epochs"]) - 1
    assert found.path is None and f"{folder}/seed-s2.json: field 'epochs[{last}].test_acc'" in found.source
    assert not [p for p in cache_listing(tmp_path) if p.endswith(".json")]


def test_benchmark_records_are_kept_validated_as_benchmark_records(server, tmp_path, no_env):
    bench = next((ROOT / "book/runs/bench").glob("*.json"))
    server.files[ARCHIVE] = repository_archive({"book/runs/cpu/seed-s1.json": SEED_S1,
                                                f"book/runs/bench/{bench.name}": bench.read_bytes()})
    found = fetch_runs(f"{server.url}@main")
    assert (found.path / "bench" / bench.name).read_bytes() == bench.read_bytes()


def test_a_cached_copy_that_no_longer_validates_is_fetched_again(server, tmp_path, no_env):
    server.files[ARCHIVE] = repository_archive({"book/runs/cpu/seed-s1.json": SEED_S1})
    repository = f"{server.url}@main"
    cached = fetch_runs(repository).path / "cpu" / "seed-s1.json"
    cached.write_text(cached.read_text().replace('"status": "complete"', '"status": "done"'))  # fresh, but bad
    found = fetch_runs(repository)
    assert len(server.hits) == 2 and (found.path / "cpu" / "seed-s1.json").read_bytes() == SEED_S1


@pytest.fixture
def trickle():
    """A server that answers 200, then sends a good archive one byte a second."""
    body = repository_archive({"book/runs/cpu/seed-s1.json": SEED_S1})

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.end_headers()
            try:
                for i in range(60):
                    self.wfile.write(body[i:i + 1])
                    self.wfile.flush()
                    time.sleep(1)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up, as it should
                pass

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}/s6/site"
    httpd.shutdown()


def test_a_server_that_trickles_cannot_hold_the_fetch_past_its_deadline(trickle, tmp_path, no_env):
    start = time.monotonic()
    found = fetch_runs(f"{trickle}@main", timeout=2)
    # The server trickles for 60 s; a fetch that honours its 2 s deadline returns long before, even on a
    # loaded 2-core machine (a tight bound here would flake, not find a bug).
    assert time.monotonic() - start < 30
    assert found.path is None and "did not finish within 2 s" in found.source


def test_fetched_records_are_cached_beside_mnist(no_env):
    """runs.cache_dir spells out MNIST's cache folder (s6lib.mnist.data.cache_root) rather than import
    torch with it: the two must stay side by side."""
    from s6lib.mnist.data import cache_root

    assert runs.cache_dir("https://github.com/o/r@main") == cache_root().parent / "runs" / "github.com_o_r_main"


def test_a_refresh_cleans_up_what_a_killed_one_left(server, tmp_path, no_env, monkeypatch):
    server.files[ARCHIVE] = repository_archive({"book/runs/cpu/seed-s1.json": SEED_S1})
    repository = f"{server.url}@main"
    cache = runs.cache_dir(repository)
    assert fetch_runs(repository).path == cache / "runs"
    monkeypatch.setattr(runs, "FRESH_SECONDS", 0)  # every call refreshes
    (cache.with_name(cache.name + ".old") / "runs").mkdir(parents=True)  # killed between its two renames
    (cache.parent / f".{cache.name}.x8y2.tmp" / "runs").mkdir(parents=True)  # killed while unpacking
    found = fetch_runs(repository)
    assert found.path == cache / "runs" and "could not be fetched" not in found.source
    assert sorted(p.name for p in cache.parent.iterdir()) == [cache.name]
    # killed after moving the old copy aside and before putting the new one in place: the old one is used
    cache.rename(cache.with_name(cache.name + ".old"))
    server.files.clear()
    found = fetch_runs(repository)
    assert found.path == cache / "runs" and "A newer copy could not be fetched" in found.source
