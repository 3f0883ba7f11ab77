"""Every call of courtgraph's own providers as a LangChain chat-model run.

courtgraph's providers call the SDKs directly (half the client CPU of the LangChain wrappers), so
LangChain's callback system never hears of them: without this module a LangSmith trace of a debate
shows graph and node runs but no LLM run, and ``astream_events`` shows no chat-model events. Here
each call is reported through langchain-core's own callback API (the mechanism LangSmith's tracer
and ``astream_events`` listen to), as a chat-model run with the prompt, the answer, token usage,
latency and whether it came from the response cache. No exporter of our own: whatever handlers the
surrounding runnable config carries (or LangSmith's tracer, when tracing is on) receive the events.

It costs nothing when nobody listens: outside a LangChain/LangGraph run with tracing off, not even
langchain-core is imported. LangChain chat models passed in by users report themselves, so the
adapter in :mod:`courtgraph.models.langchain` is not traced twice.
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from langchain_core.callbacks import AsyncCallbackManagerForLLMRun

    from courtgraph.models.base import ChatModel, Message, ModelResponse

#: The environment switches that turn LangSmith tracing on (langsmith reads the same ones).
TRACING_ENV = ("LANGSMITH_TRACING", "LANGSMITH_TRACING_V2", "LANGCHAIN_TRACING_V2", "LANGCHAIN_TRACING")


#: True inside a run that found nobody listening as it started (:func:`quiet_run`): its trials and calls
#: then skip re-reading the environment and langchain-core's handler set-up, which cannot add a listener
#: unless a runnable config around the call carries one (that is still read per trial and per call).
QUIET_RUN: ContextVar[bool] = ContextVar("courtgraph_quiet_run", default=False)


def _tracing_env_on() -> bool:
    return any(os.environ.get(name, "").strip().lower() in ("1", "true", "yes") for name in TRACING_ENV)


def nobody_listens_now() -> bool:
    """Whether, here and now, no LangSmith tracing (environment) and no handler langchain-core would add
    (tracing context, debug switch, configure hooks, their environment) listens to a run."""
    return not _tracing_env_on() and nobody_listens()


@contextmanager
def quiet_run() -> Iterator[bool]:
    """Read once, for a whole run, whether anybody listens (:func:`nobody_listens_now`); the run's trials
    and calls, started inside (tasks copy the context), rely on the answer.

    Per run, not per call: switch LangSmith tracing (its environment, ``tracing_context``) or a
    langchain-core handler on before the run, as LangSmith itself expects (it caches its environment).
    Callbacks given in a trial's config, and a runnable config carrying handlers around a call, are
    still seen, trial by trial and call by call."""
    quiet = nobody_listens_now()
    token = QUIET_RUN.set(quiet)
    try:
        yield quiet
    finally:
        QUIET_RUN.reset(token)


@dataclass
class CallTrace:
    """The open chat-model run of one call; :meth:`end` closes it with the response."""

    run: AsyncCallbackManagerForLLMRun | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    async def end(self, response: ModelResponse) -> None:
        if self.run is None:
            return
        from langchain_core.messages import AIMessage
        from langchain_core.outputs import ChatGeneration, LLMResult

        u = response.usage
        inputs = u.input_tokens if not response.cached else u.saved_input_tokens
        outputs = u.output_tokens if not response.cached else u.saved_output_tokens
        usage = {"input_tokens": inputs, "output_tokens": outputs, "total_tokens": inputs + outputs,
                 "input_token_details": {"cache_read": u.cached_input_tokens}}
        meta = {"model_name": response.model, "cached": response.cached, "latency_s": response.latency_s,
                "cost_usd": u.cost_usd, "saved_usd": u.saved_usd, "retries": u.retries, **self.extra}
        message = AIMessage(content=response.text, usage_metadata=usage,
                            response_metadata=meta)
        result = LLMResult(generations=[[ChatGeneration(message=message)]],
                           llm_output={"token_usage": usage, "model_name": response.model})
        await self.run.on_llm_end(result)

    async def fail(self, error: BaseException) -> None:
        if self.run is not None:
            await self.run.on_llm_error(error)


def _listening_config(env_on: bool) -> dict[str, Any] | None:
    """The surrounding runnable config when someone may listen, else None (the fast path)."""
    if "langchain_core" not in sys.modules and not env_on:
        return None  # no LangChain run can be around us, and nobody traces
    from langchain_core.runnables.config import var_child_runnable_config

    config = var_child_runnable_config.get()
    if config is None and not env_on:
        return None
    return dict(config or {})


def nobody_listens(callbacks: Any = None) -> bool:
    """Whether langchain-core's ``configure`` would find no handler for a run given these inheritable
    ``callbacks`` (a list of handlers or a callback manager, as a runnable config holds them).

    The same answer as ``not AsyncCallbackManager.configure(inheritable_callbacks=callbacks, ...).handlers``
    with any tags and metadata, which add no handler: ``configure`` keeps the given handlers and adds
    those the environment, the tracing context, the debug switch and the configure hooks call for, whatever
    was given. So it asks for the second alone, without copying and merging the run's metadata: inside a
    graph run every call would pay for that, while nobody listens.
    """
    from langchain_core.callbacks import AsyncCallbackManager

    if callbacks is not None:
        given = callbacks if isinstance(callbacks, list) else getattr(callbacks, "handlers", None)
        if given is None:  # something else: let langchain-core read it
            return not AsyncCallbackManager.configure(inheritable_callbacks=callbacks).handlers
        if given:
            return False
    return not AsyncCallbackManager.configure().handlers


def listening() -> dict[str, Any] | None:
    """The surrounding runnable config when a call made here may have a listener (:func:`traced_call` reports
    the call to it), else None and the call can skip tracing. Inside a quiet run (:data:`QUIET_RUN`) only a
    surrounding runnable config can bring one."""
    env_on = not QUIET_RUN.get() and _tracing_env_on()
    config = _listening_config(env_on)
    if config is None or (not env_on and nobody_listens(config.get("callbacks"))):
        return None
    return config


def may_listen() -> bool:
    """Whether a call made here may have a listener (:func:`listening`)."""
    return listening() is not None


@asynccontextmanager
async def traced_call(model: ChatModel, messages: list[Message], *, structured: bool,
                      agent: str | None, config: dict[str, Any] | None = None) -> AsyncIterator[CallTrace]:
    """Report one call as a chat-model run to the callbacks of the surrounding run, if any.

    ``config``: what :func:`listening` returned for this call, when the caller asked already (else it is
    asked here). The caller fills the response in with ``await trace.end(response)``; an exception escaping
    the block is reported as the run's error and re-raised.
    """
    config = config if config is not None else listening()
    if config is None:
        yield CallTrace()  # (with tracing on in the environment, configure below makes its tracer once)
        return
    from langchain_core.callbacks import AsyncCallbackManager
    from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

    metadata = {**(config.get("metadata") or {}), "ls_provider": model.provider, "ls_model_name": model.model,
                "ls_model_type": "chat", **({"agent": agent} if agent else {})}
    manager = AsyncCallbackManager.configure(inheritable_callbacks=config.get("callbacks"),
                                             inheritable_tags=config.get("tags"), inheritable_metadata=metadata)
    if not manager.handlers:
        yield CallTrace()
        return
    kinds = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}
    prompt = [kinds[m["role"]](content=m["content"]) for m in messages]
    serialized = {"lc": 1, "type": "not_implemented", "id": ["courtgraph", "models", type(model).__name__],
                  "name": model.spec}
    params = {**model.params.cache_fields(), "model": model.model, "base_url": model.base_url,
              "structured": structured}
    (run,) = await manager.on_chat_model_start(serialized, [prompt], invocation_params=params,
                                               name=model.spec, batch_size=1)
    trace = CallTrace(run=run)
    try:
        yield trace
    except BaseException as exc:
        await trace.fail(exc)
        raise


__all__ = ["QUIET_RUN", "TRACING_ENV", "CallTrace", "listening", "may_listen", "nobody_listens", "nobody_listens_now",
           "quiet_run", "traced_call"]
