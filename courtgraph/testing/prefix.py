"""The stub's simulated provider prompt cache: what OpenAI's prefix caching and Anthropic's breakpoints would read.

With ``StubServer(prefix_cache=True)`` (``--prefix-cache`` on the command line) the stub remembers, per
model, the prompts it has answered and reports as cached the part of a new prompt that a provider's
cache would serve, so that the saving of a shared prefix can be tested and measured without a provider.

Tokens are the stub's own: words of the prompt text (``usage`` everywhere in the stub). The rules, each a
documented simplification of the provider's:

* OpenAI (``prompt_tokens_details.cached_tokens``): the longest prefix of the prompt, of at least
  ``minimum`` tokens (OpenAI: 1,024) and then in steps of ``step`` (OpenAI: 128), that an earlier prompt
  to the same model also began with. Caching is automatic: no write is reported.
* Anthropic (``cache_read_input_tokens`` / ``cache_creation_input_tokens``): a prefix ends only at a
  ``cache_control`` breakpoint. The longest breakpoint prefix written before is read; the prompt up to
  its last breakpoint is written (the part past what was read) when that prefix is new and at least
  ``minimum`` tokens long (Anthropic: 1,024 for most models, more for some Haiku and Opus models; one
  minimum here). Anthropic's look-back for hits at earlier block boundaries is not simulated.
* The output format is part of the prefix, as it is for both providers (an OpenAI structured-output
  schema is a prefix to the system message; Anthropic caches tools before the system prompt): a
  structured call and a free-text call never share a cached prefix. It counts as no tokens.
* A prompt is remembered when its answer is sent, and a request reads only what was remembered before
  it arrived (its answer time less the stub's ``latency``): as with the real caches, which serve a
  prefix only once a first response has begun, concurrent requests that arrive together all miss.

The cache never expires (the providers keep a prefix five to ten minutes after its last use).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from courtgraph.testing.wire import StubRequest, content_text


@dataclass
class PrefixCache:
    """Per model, the hashes of the prefixes a provider would hold in its prompt cache (see the module)."""

    minimum: int = 1024
    step: int = 128
    _seen: dict[str, dict[bytes, float]] = field(default_factory=dict)  # model -> prefix hash -> when cached
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def usage(self, request: StubRequest, latency: float = 0.0) -> tuple[int, int]:
        """(tokens read from the cache, tokens written to it) for one request answered now, ``latency``
        seconds after it arrived; its prefixes are remembered from now on."""
        now = time.monotonic()
        marks = self._marks(request)
        last = max(marks, default=0)
        with self._lock:
            held = self._seen.setdefault(request.model, {})
            cached = {n for n, key in marks.items() if key in held and held[key] <= now - latency}
            for key in marks.values():
                held.setdefault(key, now)
        read = max(cached, default=0)
        if request.api == "openai":
            return read, 0  # automatic caching: nothing is billed as a write
        return read, (last - read if last and last not in cached else 0)

    def _marks(self, request: StubRequest) -> dict[int, bytes]:
        """The prefixes a provider could serve from its cache: length in tokens -> hash."""
        if request.api == "openai":
            return dict(_prefixes(_output_format(request), [request.text], self._boundary))
        texts, marked = _blocks(request.body)
        ends = {sum(len(t.split()) for t in texts[: i + 1]) for i, m in enumerate(marked) if m}
        return {n: key for n, key in _prefixes(_output_format(request), texts, lambda n: n in ends)
                if n >= self.minimum}

    def _boundary(self, n: int) -> bool:
        return n >= self.minimum and (n - self.minimum) % self.step == 0


def _output_format(request: StubRequest) -> str:
    """What shapes the answer, as the providers cache it ahead of the prompt: tools, tool choice, schema."""
    body = request.body
    return json.dumps([body.get(k) for k in ("tools", "tool_choice", "response_format")], sort_keys=True)


def _blocks(body: dict[str, Any]) -> tuple[list[str], list[bool]]:
    """An Anthropic request's text blocks in cache order (system, then messages) and which carry a breakpoint."""
    texts: list[str] = []
    marked: list[bool] = []

    def add(content: Any) -> None:
        blocks = content if isinstance(content, list) else [content]
        for block in blocks:
            texts.append(content_text([block]) if isinstance(block, dict) else content_text(block))
            marked.append(isinstance(block, dict) and "cache_control" in block)

    if body.get("system"):
        add(body["system"])
    for m in body.get("messages") or []:
        if isinstance(m, dict):
            add(m.get("content"))
    return texts, marked


def _prefixes(head: str, texts: list[str], wanted: Callable[[int], bool]) -> Iterator[tuple[int, bytes]]:
    """(n, hash of the first n words after ``head``) for every n that ``wanted(n)`` accepts."""
    digest = hashlib.sha256(head.encode())
    n = 0
    for text in texts:
        for word in text.split():
            digest.update(word.encode() + b"\x00")
            n += 1
            if wanted(n):
                yield n, digest.copy().digest()
