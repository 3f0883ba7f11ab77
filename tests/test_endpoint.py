"""Endpoint limits without HTTP: the concurrency gate, adaptive backoff, RPM/TPM windows, the registry."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from courtgraph.models import ConfigError
from courtgraph.models.endpoint import PerLoop
from courtgraph.models.limits import Endpoint, _Bucket, get_endpoint, reset_endpoints
from courtgraph.models.retry import retry_after_seconds


class Peak:
    """Counts overlapping holders of an endpoint slot."""

    def __init__(self) -> None:
        self.now = self.max = 0
        self.lock = threading.Lock()

    async def hold(self, endpoint: Endpoint, seconds: float = 0.01) -> None:
        async with endpoint.slot():
            with self.lock:
                self.now += 1
                self.max = max(self.max, self.now)
            await asyncio.sleep(seconds)
            with self.lock:
                self.now -= 1


async def test_the_bound_holds_and_is_used() -> None:
    endpoint, peak = Endpoint("p", "u", 3), Peak()
    await asyncio.gather(*(peak.hold(endpoint) for _ in range(20)))
    assert peak.max == 3 and endpoint.in_flight == 0


async def test_failures_and_cancellations_release_their_slots() -> None:
    endpoint = Endpoint("p", "u", 2)

    async def fail() -> None:
        async with endpoint.slot():
            raise RuntimeError("boom")

    results = await asyncio.gather(*(fail() for _ in range(5)), return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results) and endpoint.in_flight == 0

    holders = [asyncio.create_task(Peak().hold(endpoint, 10)) for _ in range(2)]
    waiters = [asyncio.create_task(Peak().hold(endpoint, 10)) for _ in range(3)]
    await asyncio.sleep(0.01)
    assert endpoint.in_flight == 2
    for task in [*waiters, *holders]:  # waiting, then holding tasks cancelled
        task.cancel()
    await asyncio.gather(*waiters, *holders, return_exceptions=True)
    assert endpoint.in_flight == 0
    await asyncio.wait_for(Peak().hold(endpoint), 1)  # nothing leaked: a slot is free


async def test_a_waiter_cancelled_after_being_granted_hands_the_slot_back() -> None:
    endpoint = Endpoint("p", "u", 1)
    holder = asyncio.create_task(Peak().hold(endpoint, 0.05))
    await asyncio.sleep(0)
    waiter = asyncio.create_task(Peak().hold(endpoint, 10))
    await asyncio.sleep(0.01)
    await holder  # releases: the slot is granted to the waiter ...
    waiter.cancel()  # ... which is cancelled before it runs
    await asyncio.gather(waiter, return_exceptions=True)
    assert endpoint.in_flight == 0


def test_the_bound_holds_across_loops_and_threads() -> None:
    endpoint, peak = Endpoint("p", "u", 4), Peak()

    async def burst() -> None:
        await asyncio.gather(*(peak.hold(endpoint, 0.005) for _ in range(10)))

    def run() -> None:
        asyncio.run(asyncio.wait_for(burst(), 10))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    run()  # and again on a fresh loop in this thread
    assert peak.max == 4 and endpoint.in_flight == 0


async def test_429_halves_once_per_episode_and_recovers_after_quiet() -> None:
    endpoint = Endpoint("p", "u", 8, recovery_s=3600)
    async with endpoint.slot() as first, endpoint.slot() as second:
        first.rate_limited()
        second.rate_limited()  # granted before the cut: same episode
    assert endpoint.limit == 4
    async with endpoint.slot() as third:
        third.rate_limited()  # a new episode
    assert endpoint.limit == 2
    endpoint.configure(recovery_s=0)
    limits = []
    for _ in range(3):
        async with endpoint.slot():
            limits.append(endpoint.limit)
    assert limits[0] == 3 and limits == sorted(limits)  # grows by half (at least one) per quiet period ...
    assert endpoint.limit == 8  # ... back to the maximum, never beyond


async def test_floor_is_one() -> None:
    endpoint = Endpoint("p", "u", 2, recovery_s=3600)
    for _ in range(3):
        async with endpoint.slot() as slot:
            slot.rate_limited()
    assert endpoint.limit == 1


def test_bucket_paces_uses_at_the_rate_and_settles_estimates() -> None:
    clock = [0.0]
    bucket = _Bucket(600, clock=lambda: clock[0])  # 10 a second, holding one second's worth
    assert bucket.capacity == 10
    for _ in range(10):
        assert bucket.try_take(1)[0] is not None
    use, delay = bucket.try_take(1)
    assert use is None and delay == pytest.approx(0.1)  # one unit refills in 1/10 s
    clock[0] = 0.5
    assert [bucket.try_take(1)[0] is not None for _ in range(6)] == [True] * 5 + [False]
    clock[0] = 10.0  # a long pause refills no more than the bucket holds
    assert sum(bucket.try_take(1)[0] is not None for _ in range(20)) == 10


def test_bucket_lets_an_oversized_use_go_alone_in_debt() -> None:
    clock = [0.0]
    bucket = _Bucket(60, clock=lambda: clock[0])  # 1 a second, holding 1
    big, _ = bucket.try_take(30)
    assert big is not None  # larger than the bucket: it goes once the bucket is full
    use, delay = bucket.try_take(1)
    assert use is None and delay == pytest.approx(30.0)  # the debt is paid at the rate: 30 units a minute on average
    bucket.settle(big, 10)  # it used 10, not the estimated 30: 20 refunded, 9 still owed
    assert bucket.try_take(1)[1] == pytest.approx(10.0)
    bucket.settle(big, 0)  # and a call that reported nothing owes nothing
    assert bucket.try_take(1)[0] is not None


async def test_rpm_budget_is_applied_per_request() -> None:
    endpoint = Endpoint("p", "u", 8).configure(rpm=2)  # one request, then one every 30 s
    async with endpoint.slot():
        pass
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(endpoint.slot().__aenter__(), 0.05)
    assert endpoint.in_flight == 0 and endpoint.rpm == 2


async def test_tpm_settles_estimates_to_usage() -> None:
    endpoint = Endpoint("p", "u", 8).configure(tpm=60)  # one token a second
    async with endpoint.slot(900) as slot:
        slot.used(0)
    async with endpoint.slot(1):  # fits only because the first call was settled to what it used
        pass
    async with endpoint.slot(900) as slot:
        slot.used(900)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(endpoint.slot(1).__aenter__(), 0.05)  # 900 tokens owed: 15 minutes
    assert endpoint.in_flight == 0


def test_registry_shares_endpoints_by_provider_url_and_key(monkeypatch: pytest.MonkeyPatch) -> None:
    a = get_endpoint("openai", "http://x/v1/", "k1")
    assert get_endpoint("openai", "http://x/v1", "k1") is a
    assert get_endpoint("openai", "http://x/v1", "k2") is not a
    assert get_endpoint("anthropic", "http://x/v1", "k1") is not a
    assert a.max_concurrency == 8
    monkeypatch.setenv("COURTGRAPH_MAX_CONCURRENCY", "3")
    reset_endpoints()
    assert get_endpoint("openai", "http://x/v1", "k1").max_concurrency == 3
    monkeypatch.setenv("COURTGRAPH_MAX_CONCURRENCY", "many")
    with pytest.raises(ConfigError, match="COURTGRAPH_MAX_CONCURRENCY"):
        get_endpoint("openai", "http://y/v1", "k1")
    with pytest.raises(ConfigError, match="at least 1"):
        a.configure(max_concurrency=0)


def test_retry_after_header_forms() -> None:
    assert retry_after_seconds({"retry-after": "2"}) == 2.0
    assert retry_after_seconds({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert retry_after_seconds({}) is None
    assert retry_after_seconds({"retry-after": "soon"}) is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 < (retry_after_seconds({"retry-after": later}) or 0) <= 30


def test_per_loop_objects_are_made_per_loop_and_closed_with_it() -> None:
    class Client:
        def __init__(self) -> None:
            self.closed = False

        async def close(self) -> None:
            self.closed = True

    made: list[Client] = []

    def make() -> Client:
        made.append(Client())
        return made[-1]

    clients = PerLoop(make)

    async def use() -> Client:
        first = clients.get()
        assert clients.get() is first
        return first

    one, two = asyncio.run(use()), asyncio.run(use())
    assert one is not two and len(made) == 2
    assert one.closed and two.closed
