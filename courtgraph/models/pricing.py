"""USD per million tokens, for a small set of well-known models; overridable.

A model that is not in the table has an unknown cost (``None``), never zero: a report that adds an
unknown as 0 would make an expensive protocol look free. Override or extend the table with
:func:`set_price` or a JSON file named by ``$COURTGRAPH_PRICES`` (``{"provider:model": [in, out]}``
or ``{"provider:model": {"input": .., "output": .., "cached_input": .., "cache_write": ..}}``).

Provider prompt caching has two prices besides input: a cache *read* (``cached_input``: OpenAI half or a
quarter of input, Anthropic a tenth) and, on Anthropic only, a cache *write* (``cache_write``: 1.25x input
for the default five-minute cache), which costs more than input. A call's input tokens include both; the
rest are billed as fresh input. :func:`prompt_cache_saving` is what caching saved (or, when written
prefixes are never read again, cost) against paying every input token at the input price.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType


@dataclass(frozen=True)
class Price:
    input: float  # USD per 1M input tokens
    output: float  # USD per 1M output tokens
    cached_input: float | None = None  # USD per 1M cached input tokens read (defaults to input)
    cache_write: float | None = None  # USD per 1M input tokens written to the cache (defaults to input)


_TABLE: dict[str, Price] = {
    "openai:gpt-4o": Price(2.50, 10.00, 1.25),
    "openai:gpt-4o-mini": Price(0.15, 0.60, 0.075),
    "openai:gpt-4.1": Price(2.00, 8.00, 0.50),
    "openai:gpt-4.1-mini": Price(0.40, 1.60, 0.10),
    "openai:gpt-4.1-nano": Price(0.10, 0.40, 0.025),
    "openai:o3-mini": Price(1.10, 4.40, 0.55),
    "openai:o4-mini": Price(1.10, 4.40, 0.275),
    "anthropic:claude-3-5-haiku-latest": Price(0.80, 4.00, 0.08, 1.00),
    "anthropic:claude-3-5-sonnet-latest": Price(3.00, 15.00, 0.30, 3.75),
    "anthropic:claude-3-7-sonnet-latest": Price(3.00, 15.00, 0.30, 3.75),
    "anthropic:claude-sonnet-4-0": Price(3.00, 15.00, 0.30, 3.75),
    "anthropic:claude-haiku-4-5": Price(1.00, 5.00, 0.10, 1.25),
}
_loaded_env = False
#: What a provider's batch API bills against its synchronous price: every token (input, cached input,
#: cache writes, output) at half price, for OpenAI's Batch API and Anthropic's Message Batches.
BATCH_FACTOR: Mapping[str, float] = MappingProxyType({"openai": 0.5, "anthropic": 0.5})


def set_price(spec: str, input: float, output: float, cached_input: float | None = None,
              cache_write: float | None = None) -> None:
    """Set the price of ``provider:model`` in USD per million tokens."""
    _TABLE[spec] = Price(input, output, cached_input, cache_write)


def _load_env_table() -> None:
    global _loaded_env
    _loaded_env = True
    path = os.environ.get("COURTGRAPH_PRICES")
    if not path:
        return
    for spec, value in json.loads(Path(path).read_text()).items():
        if isinstance(value, list):
            set_price(spec, *value)
        else:
            set_price(spec, value["input"], value["output"], value.get("cached_input"), value.get("cache_write"))


def price_key(model: str, base_url: str | None) -> str:
    """The model part of a price key: ``model``, or ``model@URL`` for a server other than the provider's own."""
    return f"{model}@{base_url}" if base_url else model


def price_of(provider: str, model: str) -> Price | None:
    if not _loaded_env:
        _load_env_table()
    return _TABLE.get(f"{provider}:{model}")


def cost_usd(provider: str, model: str, input_tokens: int, output_tokens: int,
             cached_input_tokens: int = 0, cache_write_tokens: int = 0) -> float | None:
    """The USD cost of one call, or None when the model's price is unknown. ``input_tokens`` counts every
    prompt token: those read from and written to the provider's prompt cache are priced at their rates."""
    price = price_of(provider, model)
    if price is None:
        return None
    cached_rate = price.input if price.cached_input is None else price.cached_input
    write_rate = price.input if price.cache_write is None else price.cache_write
    fresh = max(input_tokens - cached_input_tokens - cache_write_tokens, 0)
    return (fresh * price.input + cached_input_tokens * cached_rate + cache_write_tokens * write_rate
            + output_tokens * price.output) / 1e6


def cache_write_premium(provider: str, model: str, cache_write_tokens: int) -> float | None:
    """What writing ``cache_write_tokens`` to the prompt cache costs beyond plain input (None: unknown price);
    ``cost_usd(..., w) == cost_usd(...) + cache_write_premium(w)`` while the written tokens count as input."""
    if not cache_write_tokens:
        return 0.0
    price = price_of(provider, model)
    if price is None:
        return None
    return cache_write_tokens * ((price.input if price.cache_write is None else price.cache_write) - price.input) / 1e6


def prompt_cache_saving(provider: str, model: str, cached_input_tokens: int, cache_write_tokens: int) -> float | None:
    """USD that provider prompt caching saved on one call against paying all its input at the input price
    (negative when writes were not repaid by reads); None when the price is unknown."""
    if not cached_input_tokens and not cache_write_tokens:
        return 0.0
    price = price_of(provider, model)
    if price is None:
        return None
    read = price.input if price.cached_input is None else price.cached_input
    write = price.input if price.cache_write is None else price.cache_write
    return (cached_input_tokens * (price.input - read) - cache_write_tokens * (write - price.input)) / 1e6


def batch_factor(provider: str) -> float:
    """The share of the synchronous price a provider's batch API bills (1.0 for a provider without one)."""
    return BATCH_FACTOR.get(provider, 1.0)
