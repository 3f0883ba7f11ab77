"""A damaged response cache is named in one warning, moved aside, and never stops a run."""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import BaseModel

from courtgraph.models import ChatModel, Completion, ConfigError, GenerateParams, Message, ResponseCache
from courtgraph.models.cache import cache_key
from courtgraph.testing import StubServer

MESSAGES: list[Message] = [{"role": "user", "content": "Which is better? [[A]] or [[B]]"}]


class Counting(ChatModel):
    def __init__(self, cache: ResponseCache) -> None:
        super().__init__("openai:m", provider="openai", model="m", cache=cache)
        self.calls = 0

    async def _complete(self, messages: list[Message], schema: type[BaseModel] | None,
                        params: GenerateParams) -> Completion:
        self.calls += 1
        return Completion(text=f"answer {self.calls} [[A]]", input_tokens=10, output_tokens=5)


def filled(path: Path, rows: int = 400) -> None:
    """A real cache with enough rows to span many pages."""
    cache = ResponseCache(path)
    for i in range(rows):
        cache.put(f"key-{i:04d}", {"text": "x" * 200, "i": i})
    cache.close()
    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()


def truncate(path: Path) -> None:
    filled(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


def garbage(path: Path) -> None:
    path.write_bytes(b"this is not a database at all\n" * 200)


def bad_page(path: Path) -> None:
    filled(path)
    page = 4096
    with path.open("r+b") as f:
        f.seek(page * 5)
        f.write(os.urandom(page))


def directory(path: Path) -> None:
    path.mkdir(parents=True)


DAMAGE: dict[str, Callable[[Path], None]] = {"truncated": truncate, "garbage": garbage, "bad_page": bad_page,
                                             "directory": directory}


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "courtgraph" and r.levelno == logging.WARNING]


@pytest.mark.parametrize("kind", DAMAGE)
async def test_damage_is_named_once_moved_aside_and_calls_go_on(kind: str, tmp_path: Path,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "responses.sqlite"
    DAMAGE[kind](path)
    cache = ResponseCache(path)
    for i in range(400):  # read every row: a bad page is found when a query touches it
        cache.get(f"key-{i:04d}")
    model = Counting(cache)
    first = await model.generate(MESSAGES)
    again = await model.generate(MESSAGES)
    assert first.text == "answer 1 [[A]]" and model.calls == 1 + (kind == "directory")
    assert again.cached == (kind != "directory")
    said = warnings_of(caplog)
    assert len(said) == 1 and str(path) in said[0] and "\n" not in said[0], said
    if kind == "directory":
        assert path.is_dir() and not cache.usable  # a directory is never moved: it may be the user's
    else:
        assert [p.name for p in tmp_path.glob("responses.sqlite.damaged-*")][:1], list(tmp_path.iterdir())
        assert cache.usable and len(cache) == 1
    cache.close()


async def test_a_bad_row_is_a_miss_and_is_replaced(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "responses.sqlite"
    cache = ResponseCache(path)
    model = Counting(cache)
    key = cache_key("openai", "m", None, GenerateParams().cache_fields(), MESSAGES, None)
    for bad in ("{not json", '"a string"', '{"text": 1}'):  # broken JSON, not an object, not a response
        con = sqlite3.connect(path)
        con.execute("INSERT OR REPLACE INTO responses VALUES (?, ?)", (key, bad))
        con.commit()
        con.close()
        fresh = await model.generate(MESSAGES)
        assert not fresh.cached
        assert (await model.generate(MESSAGES)).cached  # replaced by the new answer
    assert model.calls == 3 and cache.bad_rows == 3
    assert len(warnings_of(caplog)) == 1
    cache.close()


def test_a_cache_under_a_file_is_a_config_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ConfigError, match="afile is a file"):
        ResponseCache(tmp_path / "afile" / "responses.sqlite")


@pytest.mark.parametrize("kind", DAMAGE)
def test_a_run_finishes_over_a_damaged_cache_with_one_warning(kind: str, tmp_path: Path) -> None:
    """Through the real CLI and SDK: the first run fills the cache, the damage is done, a second run
    over the same cases finishes, with one warning naming the file."""
    path = tmp_path / "responses.sqlite"
    with StubServer() as server:
        def run(out: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([sys.executable, "-m", "courtgraph", "run", "-b", "sample", "-p", "single", "-m",
                                   f"openai:m@{server.openai_url}", "--sample", "3", "--cache", str(path),
                                   "-o", str(tmp_path / out)], capture_output=True, text=True, timeout=180)

        if kind != "directory":
            assert run("first").returncode == 0
            if kind == "truncated":
                data = path.read_bytes()
                path.write_bytes(data[: len(data) // 2])
            elif kind == "garbage":
                garbage(path)
            else:
                with path.open("r+b") as f:  # every page but the header page
                    f.seek(4096)
                    f.write(os.urandom(path.stat().st_size - 4096))
        else:
            directory(path)
        out = run("second")
    assert out.returncode == 0, out.stderr
    lines = [line for line in out.stderr.splitlines() if "warning:" in line]
    assert len(lines) == 1 and str(path) in lines[0] and "Traceback" not in out.stderr, out.stderr
