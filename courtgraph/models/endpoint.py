"""The shared base of the HTTP providers: one model call, held to its endpoint's limits and retried.

:class:`EndpointModel` is the base of the OpenAI and Anthropic providers, which only build an SDK
client and make one HTTP request. Everything else they share is here once: key and URL resolution,
timeouts, one SDK client per event loop (:class:`PerLoop`), turning SDK exceptions into retryable
or final failures, and the glue that runs each request inside a slot of its endpoint
(:mod:`courtgraph.models.limits`) within the one retry layer (:mod:`courtgraph.models.retry`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import importlib
import json
import logging
import os
import re
import threading
import urllib.parse
from abc import abstractmethod
from collections.abc import AsyncGenerator, Callable
from types import ModuleType
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel

from courtgraph.models.base import _DEFAULT, ChatModel, Completion, ConfigError, GenerateParams, Message, ModelError
from courtgraph.models.batch_apis import BATCH_APIS
from courtgraph.models.batching import current_batch_mode
from courtgraph.models.breaker import REQUEST_FAULTS
from courtgraph.models.cache import ResponseCache
from courtgraph.models.connections import DEFAULT_TIMEOUT, run_limits_for
from courtgraph.models.limits import env_number, get_endpoint
from courtgraph.models.pricing import price_key
from courtgraph.models.retry import (
    Failure,
    RetryPolicy,
    env_retries,
    retry_after_seconds,
    retrying,
    server_message,
    status_hint,
)
from courtgraph.models.secrets import SECRETS
from courtgraph.schema import Usage

#: Sent when a spec names a base URL and no key is set: local servers (vLLM, Ollama) don't check it.
PLACEHOLDER_KEY = "courtgraph-no-key"


class Closable(Protocol):
    async def close(self) -> None: ...


C = TypeVar("C", bound=Closable)


class PerLoop(Generic[C]):
    """One object per running event loop: SDK clients pool connections bound to the loop that made them.

    Each object is closed with its loop: an idle async generator is registered on the loop, and
    ``loop.shutdown_asyncgens()`` (which ``asyncio.run`` and pytest-asyncio call before closing a
    loop) finalizes it, running its ``finally``, which closes the object while its loop still runs.
    """

    def __init__(self, factory: Callable[[], C]) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self._items: dict[int, tuple[asyncio.AbstractEventLoop, C, AsyncGenerator[None, None]]] = {}

    def get(self) -> C:
        loop = asyncio.get_running_loop()
        with self._lock:
            for key, (other, _, _) in list(self._items.items()):
                if other.is_closed():
                    del self._items[key]
            found = self._items.get(id(loop))
            if found is None or found[0] is not loop:
                item = self._factory()
                watcher = self._close_with_loop(item)
                with contextlib.suppress(StopIteration):  # step it to its yield: now the loop knows it
                    watcher.__anext__().send(None)
                found = self._items[id(loop)] = (loop, item, watcher)
            return found[1]

    @staticmethod
    async def _close_with_loop(item: C) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                await item.close()


def split_spec(rest: str) -> tuple[str, str | None]:
    """``MODEL`` or ``MODEL@BASE_URL`` -> (model, base URL or None). An ``@`` not followed by a URL
    stays in the model name (e.g. Vertex-style ``claude-3-5-sonnet@20240620``)."""
    model, sep, url = rest.rpartition("@")
    if sep and url.startswith(("http://", "https://")) and model:
        return model, url
    return rest, None


#: ``MODEL@URL#key_env=VAR``: the variable holding the key for a custom base URL.
KEY_ENV_MARK = "#key_env="


def parse_endpoint_spec(provider: str, rest: str) -> tuple[str, str | None, str | None]:
    """``MODEL[@BASE_URL][#key_env=VAR]`` -> (model, base URL or None, key variable or None).

    A malformed base URL (no host, a bad port, another scheme) or key variable is a ConfigError naming
    the spec, raised when the model is made, before any call."""
    spec = f"{provider}:{rest}"
    key_env = None
    if KEY_ENV_MARK in rest:
        rest, _, key_env = rest.partition(KEY_ENV_MARK)
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key_env):
            raise ConfigError(f"{spec}: key_env={key_env!r} is not an environment variable name")
    model, base_url = split_spec(rest)
    if key_env is not None and base_url is None:
        raise ConfigError(f"{spec}: #key_env=VAR applies to a model with a base URL (MODEL@URL#key_env=VAR)")
    if "://" in model and base_url is None and "@" in rest:
        raise ConfigError(f"{spec}: bad base URL: expected http:// or https://")
    if base_url is not None:
        check_base_url(base_url, where=spec)
    if not model.strip():
        raise ConfigError(f"{spec}: no model name before the base URL")
    return model, base_url, key_env


def check_base_url(url: str, *, where: str) -> None:
    """A ConfigError naming ``where`` unless ``url`` is http(s)://HOST[:PORT][/PATH] with a valid port."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port  # raises ValueError for a port that is not a number in 0-65535
    except ValueError as exc:
        raise ConfigError(f"{where}: bad base URL {url!r}: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{where}: bad base URL {url!r}: expected http(s)://HOST[:PORT][/PATH]")
    if port == 0 or parts.fragment or parts.query:
        raise ConfigError(f"{where}: bad base URL {url!r}: expected http(s)://HOST[:PORT][/PATH], "
                          "a port from 1 to 65535 and no ?query or #fragment")


# -- the base of HTTP providers ---------------------------------------------------------------------


class EndpointModel(ChatModel):
    """A model reached over HTTP through an SDK: key and URL resolution, limits, retries, timeouts.

    Subclasses name their SDK and environment variables and implement :meth:`_make_client` and
    :meth:`_request` (one HTTP call, no retries). The key comes from ``api_key`` or the provider's
    variable; a missing key is a :class:`ConfigError` at construction, unless a base URL was given,
    in which case :data:`PLACEHOLDER_KEY` is sent (local OpenAI-compatible servers don't check).
    ``timeout`` (seconds per HTTP request) and ``retry`` hold for this model whatever the run says;
    without them, the run's endpoint settings apply (:mod:`courtgraph.models.connections`), then
    ``$COURTGRAPH_TIMEOUT`` / ``$COURTGRAPH_MAX_RETRIES``, then 60 s and 3 retries.
    ``max_concurrency``, ``rpm`` and ``tpm`` configure the shared endpoint (see :class:`Endpoint`).
    """

    structured = True
    prefix: str  # the spec prefix and provider name: openai, anthropic
    sdk_name: str  # the SDK's module (imported on first use: a fully cached run never loads it)
    key_env: str  # e.g. OPENAI_API_KEY
    base_env: str  # e.g. OPENAI_BASE_URL (the SDK's own variable, honoured the same way)
    default_base_url: str

    def __init__(self, model: str, *, base_url: str | None = None, api_key: str | None = None,
                 key_env: str | None = None, timeout: float | None = None, max_concurrency: int | None = None,
                 rpm: int | None = None, tpm: int | None = None, retry: RetryPolicy | None = None,
                 params: GenerateParams | None = None, cache: ResponseCache | None = _DEFAULT) -> None:
        provider = self.prefix
        spec = f"{provider}:{model}" + (f"@{base_url}" if base_url else "")
        if base_url is not None:
            check_base_url(base_url, where=spec)
        env_url = os.environ.get(self.base_env)
        if base_url is None and env_url:
            check_base_url(env_url, where=f"${self.base_env}")
        url = (base_url or env_url or self.default_base_url).rstrip("/")
        key, self.key_source = self._resolve_key(spec, base_url, api_key, key_env)
        super().__init__(spec, provider=provider, model=model, base_url=url, params=params, cache=cache)
        self.custom_url = base_url is not None or url != self.default_base_url
        self._timeout = timeout  # given here: above the run's settings (see the timeout property)
        self._env_timeout = env_number("COURTGRAPH_TIMEOUT", DEFAULT_TIMEOUT)
        self._retry = retry
        self._env_retries = env_retries()
        self.endpoint = get_endpoint(provider, url, key)
        if max_concurrency is not None or rpm is not None or tpm is not None:
            self.endpoint.configure(max_concurrency=max_concurrency, rpm=rpm, tpm=tpm)
        if key != PLACEHOLDER_KEY:
            SECRETS.add(key)
        self._api_key = key
        self._clients: dict[float, PerLoop[Any]] = {}  # per timeout: a client carries its own

    @property
    def timeout(self) -> float:
        """Seconds per HTTP request: ``timeout=`` (or set here), else the current run's setting for this
        endpoint (``--timeout``, a roles file's entry), else ``$COURTGRAPH_TIMEOUT``, else 60."""
        if self._timeout is not None:
            return self._timeout
        given = run_limits_for(self.endpoint.provider, self.endpoint.base_url).timeout
        return given if given is not None else self._env_timeout

    @timeout.setter
    def timeout(self, value: float) -> None:
        self._timeout = value

    @property
    def retry(self) -> RetryPolicy:
        """The retry policy: ``retry=`` (or set here), else the default policy with the attempts the current
        run gives this endpoint (``--max-retries N``: N + 1 attempts) or ``$COURTGRAPH_MAX_RETRIES``."""
        if self._retry is not None:
            return self._retry
        given = run_limits_for(self.endpoint.provider, self.endpoint.base_url).max_retries
        retries = given if given is not None else self._env_retries
        return RetryPolicy() if retries is None else RetryPolicy(attempts=retries + 1)

    @retry.setter
    def retry(self, value: RetryPolicy) -> None:
        self._retry = value

    def _client(self) -> Any:
        """This loop's SDK client for the timeout in force (made on first use)."""
        timeout = self.timeout
        per_loop = self._clients.get(timeout)
        if per_loop is None:
            per_loop = self._clients[timeout] = PerLoop(self._make_client)
        return per_loop.get()

    @property
    def sdk(self) -> ModuleType:
        """The SDK module: its APIStatusError, APITimeoutError, ... classify failures."""
        return importlib.import_module(self.sdk_name)

    def _resolve_key(self, spec: str, base_url: str | None, api_key: str | None,
                     key_env: str | None) -> tuple[str, str]:
        """The key to send, and where it came from (named in 401 hints).

        The provider's own variable (``$OPENAI_API_KEY``) is sent only to the provider's official URL, or
        to ``$OPENAI_BASE_URL`` when the user set both (the SDK's own pairing); a spec's ``@URL`` gets the
        key from the variable its ``#key_env=VAR`` names, else :data:`PLACEHOLDER_KEY`: a local or
        third-party server never sees the official key by accident."""
        if api_key:
            return api_key, "api_key"
        if key_env is not None:
            named = os.environ.get(key_env)
            if not named:
                raise ConfigError(f"{spec}#key_env={key_env}: ${key_env} is not set")
            return named, f"${key_env}"
        if base_url is None or base_url.rstrip("/") == self.default_base_url:
            official = os.environ.get(self.key_env)
            if not official:
                raise ConfigError(f"{self.key_env} is not set: export it or pass api_key=... (for a local "
                                  f"server give its URL instead: {spec}@http://host:port)")
            return official, self.key_env
        return PLACEHOLDER_KEY, f"the key: none was sent, name its variable with {spec}#key_env=VAR"

    @abstractmethod
    def _make_client(self) -> Any:
        """A new async SDK client with the SDK's retries off and ``self.timeout`` set."""

    @abstractmethod
    async def _request(self, client: Any, messages: list[Message], schema: type[BaseModel] | None,
                       params: GenerateParams) -> Completion:
        """One HTTP call, no retries; SDK exceptions propagate to :meth:`_classify`."""

    def batch_client(self) -> Any:
        """The SDK client of the running loop (batch mode submits and polls through it)."""
        return self._client()

    def batch_account(self) -> str:
        """The key as a short hash: batch mode never puts two accounts' requests in one batch."""
        return hashlib.sha256(self._api_key.encode()).hexdigest()[:16]

    def _batch_body(self, messages: list[Message], schema: type[BaseModel] | None,
                    params: GenerateParams) -> dict[str, Any]:
        """The body a batch line carries: what a sync call would send (providers with a batch API override)."""
        raise NotImplementedError(f"{self.provider} has no batch API")

    def _batch_completion(self, body: dict[str, Any], schema: type[BaseModel] | None) -> Completion:
        """A batch line's answer, parsed as a sync answer is (providers with a batch API override)."""
        raise NotImplementedError(f"{self.provider} has no batch API")

    async def _complete(self, messages: list[Message], schema: type[BaseModel] | None,
                        params: GenerateParams) -> Completion:
        batches = current_batch_mode()
        if batches is not None and self.provider in BATCH_APIS:  # queued into a batch (models/batching.py)
            done: Completion = await batches.complete(self, messages, schema, params)
            return done
        estimate = sum(len(m["content"]) for m in messages) // 4 + params.max_tokens
        rate_limited = 0
        faults: dict[str, int] = {}
        breaker = self.endpoint.breaker
        try:
            async for attempt in retrying(self.retry):
                with attempt:
                    breaker.check()  # an endpoint found down meanwhile: stop retrying at once
                    async with self.endpoint.slot(estimate) as slot:
                        try:
                            done = await self._request(self._client(), messages, schema, params)
                        except Exception as exc:
                            failure = self._classify(exc)
                            if failure is None:
                                raise
                            faults[failure.kind] = faults.get(failure.kind, 0) + 1
                            if failure.status == 429:
                                rate_limited += 1
                                slot.rate_limited()
                            raise failure from exc
                        slot.used(done.input_tokens + done.output_tokens)
                tries = attempt.retry_state.attempt_number
        except Failure as failure:
            error = self._give_up(failure)
            attempts = sum(faults.values())
            error.usage = Usage(retries=max(attempts - 1, 0), rate_limited=rate_limited, faults=faults)
            if failure.status not in REQUEST_FAULTS:  # this request's own fault says nothing about the endpoint
                breaker.failed(failure.message)
            raise error from failure
        breaker.succeeded()
        done.retries, done.rate_limited, done.faults = tries - 1, rate_limited, faults
        return done

    @property
    def pricing_key(self) -> tuple[str, str]:
        """The official API's price, but at another base URL (a local server, a proxy) only a price set for
        ``provider:model@URL`` (:func:`~courtgraph.models.pricing.set_price`): else unknown, never OpenAI's.
        The call's cost, the cache-write premium and the saving all use this key."""
        return self.provider, price_key(self.model, self.base_url if self.custom_url else None)

    def _where(self) -> str:
        return f"{self.provider} at {self.base_url}"

    def _give_up(self, failure: Failure) -> ModelError:
        logging.getLogger("courtgraph.models").warning("%s: gave up: %s", self.spec, failure)
        if not failure.retryable:
            return ModelError(failure.message, status=failure.status, retryable=False)
        return ModelError(f"{self._where()}: gave up after {self.retry.attempts} attempts; last: {failure.message}",
                          status=failure.status, retryable=True)

    def _classify(self, exc: Exception) -> Failure | None:
        """An SDK exception as a Failure (retryable or not); None for anything else (a bug: re-raised)."""
        sdk = self.sdk
        if isinstance(exc, sdk.APIStatusError):
            return self._status_failure(exc.status_code, exc.response.headers, server_message(exc.body))
        if isinstance(exc, sdk.APITimeoutError):
            return Failure(f"timed out after {self.timeout:g} s ({self._where()})", retryable=True, kind="timeout")
        if isinstance(exc, sdk.APIConnectionError):
            cause = exc.__cause__ or exc
            return Failure(f"connection failed ({self._where()}): {type(cause).__name__}: {cause}", retryable=True,
                           kind="connection")
        if isinstance(exc, json.JSONDecodeError | sdk.APIResponseValidationError):
            return Failure(f"malformed response from {self._where()}: {exc}", retryable=True, kind="malformed")
        return None

    def _status_failure(self, status: int, headers: Any, said: str) -> Failure:
        retryable = status in (408, 409, 429) or status >= 500
        hint = status_hint(status, key_env=self.key_source, model=self.model)
        message = f"{status} from {self._where()}: {hint}" + (f" (server said: {said})" if said else "")
        wait = retry_after_seconds(headers) if status == 429 else None
        if wait is not None and wait > self.retry.retry_after_cap:
            return Failure(f"{message}; the server asks to wait {wait:g} s, more than the "
                           f"{self.retry.retry_after_cap:g} s cap", status=status)
        return Failure(message, status=status, retryable=retryable, retry_after=wait)
