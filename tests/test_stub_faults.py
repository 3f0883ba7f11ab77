"""Random fault injection: ``StubServer(fault_rate=..., faults=..., seed=...)`` and ``courtgraph stub --fault-rate``."""

from __future__ import annotations

import http.client
import json
import os
import random
import signal
import subprocess
import sys

import pytest

from courtgraph.testing import StubServer

CHAT = "/v1/chat/completions"
KINDS = ("429", "500", "503", "malformed_json", "garbage", "drop")


def post(port: int) -> tuple[int | None, bytes]:
    """One raw request on a new connection: (status, body), or (None, b"") when the server drops it."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", CHAT, json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]}))
        reply = conn.getresponse()
        return reply.status, reply.read()
    except (http.client.RemoteDisconnected, ConnectionResetError):
        return None, b""
    finally:
        conn.close()


def expected(n: int, rate: float, seed: int) -> list[str | None]:
    """The faults the server should draw, by an independent replay of the documented draw."""
    draw = random.Random(seed)
    out: list[str | None] = []
    for _ in range(n):
        out.append(draw.choice(KINDS) if draw.random() < rate else None)
    return out


@pytest.mark.parametrize("seed", [1, 7])
def test_faults_are_drawn_at_the_rate_from_the_kinds_given(seed: int) -> None:
    plan = expected(150, 0.2, seed)
    with StubServer(fault_rate=0.2, faults=KINDS, seed=seed) as stub:
        got = [post(stub.port) for _ in plan]
    want = {k: plan.count(k) for k in KINDS if plan.count(k)}
    assert stub.injected == want and 10 < sum(want.values()) < 60
    for kind, (status, body) in zip(plan, got, strict=True):
        if kind is None:
            assert status == 200 and json.loads(body)["choices"][0]["message"]["content"].endswith("[[A]]")
        elif kind == "drop":
            assert status is None
        elif kind == "malformed_json":
            assert status == 200 and body.startswith(b'{"id": "stub-broken"')
        elif kind == "garbage":
            assert status == 200 and "[[" not in json.loads(body)["choices"][0]["message"]["content"]
        else:
            assert status == int(kind)


def test_a_rate_of_one_is_a_provider_that_is_down() -> None:
    with StubServer(fault_rate=1.0, faults=("503",), seed=0) as stub:
        assert {post(stub.port)[0] for _ in range(5)} == {503}


def test_queued_faults_come_before_random_ones_and_bad_settings_are_refused() -> None:
    with StubServer(fault_rate=0.0) as stub:
        stub.fault("500")
        assert post(stub.port)[0] == 500 and post(stub.port)[0] == 200
    with pytest.raises(ValueError, match="between 0 and 1"):
        StubServer(fault_rate=1.5)
    with pytest.raises(ValueError, match="unknown fault 'nope'"):
        StubServer(fault_rate=0.5, faults=("503", "nope"))


@pytest.mark.parametrize(("args", "field"), [(["--fault-rate", "2"], "fault-rate"),
                                             (["--faults", "503,nope"], "faults"), (["--faults", ","], "faults"),
                                             (["--port", "70000"], "port")])
def test_bad_stub_options_exit_2_naming_the_option(args: list[str], field: str) -> None:
    out = subprocess.run([sys.executable, "-m", "courtgraph", "stub", *args], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 2 and f"field '{field}'" in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_the_stub_command_injects_faults() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "courtgraph", "stub", "--port", "0", "--fault-rate", "1",
                             "--faults", "429", "--seed", "1"], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(8)]
        assert any("Injecting faults in 100% of requests: 429" in line for line in lines), lines
        url = next(line.split()[-1] for line in lines if line.strip().startswith("openai:"))
        port = int(url.split(":")[-1].split("/")[0])
        status, body = post(port)
        assert status == 429 and b"rate limited" in body
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert "stopped after 1 requests" in out
