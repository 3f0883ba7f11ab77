"""The SQLite response cache: keys, persistence, the current-run context, and hits in ChatModel.generate."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from courtgraph.agents.parsing import PairwiseOutput
from courtgraph.models import (
    ChatModel,
    Completion,
    GenerateParams,
    Message,
    ResponseCache,
    current_cache,
    default_cache_path,
    use_cache,
)
from courtgraph.models.cache import cache_key, key_json

MESSAGES: list[Message] = [{"role": "user", "content": "Which is better? [[A]] or [[B]]"}]


class Counting(ChatModel):
    """A cacheable model that counts real calls and has a known price."""

    def __init__(self, model: str = "gpt-4o-mini", **kwargs: object) -> None:
        super().__init__(f"openai:{model}", provider="openai", model=model, **kwargs)  # type: ignore[arg-type]
        self.calls = 0

    async def _complete(self, messages: list[Message], schema: type[BaseModel] | None,
                        params: GenerateParams) -> Completion:
        self.calls += 1
        return Completion(text=f"answer {self.calls} [[A]]", input_tokens=1000, output_tokens=100)


def key(**changes: object) -> str:
    args: dict[str, object] = {"provider": "openai", "model": "m", "base_url": None, "params": {"temperature": 0},
                               "messages": MESSAGES, "schema": None}
    args.update(changes)
    return cache_key(**args)  # type: ignore[arg-type]


def test_key_depends_on_everything_that_determines_an_answer() -> None:
    base = key()
    assert key() == base
    variants = [key(provider="anthropic"), key(model="m2"), key(base_url="http://x/v1"),
                key(params={"temperature": 1}), key(messages=[{"role": "user", "content": "other"}]),
                key(schema=PairwiseOutput.model_json_schema())]
    assert len({base, *variants}) == len(variants) + 1


def test_store_persists_across_instances(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "cache.sqlite"
    first = ResponseCache(path)
    assert first.get("k") is None
    first.put("k", {"text": "é [[A]]"})
    first.put("k", {"text": "replaced"})
    first.close()
    again = ResponseCache(path)
    assert again.get("k") == {"text": "replaced"} and len(again) == 1
    again.close()


def test_default_path_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert default_cache_path() == tmp_path / "responses.sqlite"  # set by the autouse fixture
    monkeypatch.delenv("COURTGRAPH_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_path() == tmp_path / "xdg" / "courtgraph" / "responses.sqlite"


def test_use_cache_sets_the_current_cache_and_closes_what_it_opened(tmp_path: Path) -> None:
    assert current_cache() is None  # no caching unless a run asks for it
    with use_cache(tmp_path / "c.sqlite") as opened:
        assert current_cache() is opened and opened is not None
        with use_cache(None):
            assert current_cache() is None
        assert current_cache() is opened
    assert current_cache() is None
    with pytest.raises(Exception, match="closed"):
        opened.get("k")
    mine = ResponseCache(tmp_path / "mine.sqlite")
    with use_cache(mine):
        pass
    assert mine.get("k") is None  # a cache passed in is the caller's to close


async def test_a_hit_makes_no_call_and_counts_savings_not_cost(tmp_path: Path) -> None:
    model = Counting()
    with use_cache(tmp_path / "c.sqlite"):
        first = await model.generate(MESSAGES)
        second = await model.generate(MESSAGES)
        other = await model.generate(MESSAGES, params=GenerateParams(temperature=0.7))
    assert model.calls == 2  # the second call was a hit; other parameters are another key
    assert not first.cached and second.cached and not other.cached
    assert second.text == first.text and second.latency_s == 0.0
    assert first.usage.cost_usd is not None and first.usage.cost_usd > 0
    assert (second.usage.calls, second.usage.cost_usd, second.usage.cache_hits) == (0, 0.0, 1)
    assert (second.usage.saved_input_tokens, second.usage.saved_output_tokens) == (1000, 100)
    assert second.usage.saved_usd == first.usage.cost_usd


async def test_hits_survive_a_new_process_cache_and_model(tmp_path: Path) -> None:
    with use_cache(tmp_path / "c.sqlite"):
        await Counting().generate(MESSAGES)
    fresh = Counting()
    with use_cache(tmp_path / "c.sqlite"):
        r = await fresh.generate(MESSAGES)
    assert r.cached and fresh.calls == 0


async def test_models_can_opt_out(tmp_path: Path) -> None:
    pinned_off = Counting(cache=None)
    uncacheable = Counting()
    uncacheable.cacheable = False
    with use_cache(tmp_path / "c.sqlite"):
        for model in (pinned_off, uncacheable):
            await model.generate(MESSAGES)
            assert not (await model.generate(MESSAGES)).cached
            assert model.calls == 2


async def test_unknown_price_stays_unknown_in_savings(tmp_path: Path) -> None:
    model = Counting("not-in-the-price-table")
    with use_cache(tmp_path / "c.sqlite"):
        await model.generate(MESSAGES)
        hit = await model.generate(MESSAGES)
    assert hit.cached and hit.usage.saved_usd is None and hit.usage.cost_usd == 0.0


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                                 max_size=3), max_leaves=10)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=6), st.text(max_size=6), st.none() | st.text(max_size=6),
       st.dictionaries(st.text(max_size=4), _JSON, max_size=3), _JSON, st.none() | st.dictionaries(st.text(), _JSON))
def test_the_key_is_the_hash_of_the_whole_list_as_canonical_json(provider: str, model: str, base_url: str | None,
                                                                 params: dict[str, object], messages: object,
                                                                 schema: dict[str, object] | None) -> None:
    """Keys written by earlier versions keep hitting: the key is built item by item (a structured call's schema
    JSON kept), and must stay the hash of the list dumped at once."""
    import hashlib
    import json

    blob = json.dumps([provider, model, base_url, params, messages, schema], sort_keys=True, ensure_ascii=False,
                      separators=(",", ":"))
    expected = hashlib.sha256(blob.encode()).hexdigest()
    assert cache_key(provider, model, base_url, params, messages, schema) == expected
    assert cache_key(provider, model, base_url, params, messages, schema, schema_json=key_json(schema)) == expected


def test_a_schema_key_is_built_once_and_is_its_canonical_json() -> None:
    from courtgraph.models.schemas import json_schema, json_schema_key

    assert json_schema_key(PairwiseOutput) == key_json(json_schema(PairwiseOutput))
    assert json_schema_key(PairwiseOutput) is json_schema_key(PairwiseOutput)
