"""What a user probably meant by a model spec courtgraph does not know.

Specs are ``provider:model``. Users bring other habits: Inspect's and LiteLLM's ``openai/gpt-4o``, a bare
``gpt-4o``, or LangChain's own ``google_genai:gemini-2.0-flash``. :func:`spec_hint` turns each into a
"did you mean" for the error message, so the fix is one copy-paste away.
"""

from __future__ import annotations

#: Provider names of LangChain's ``init_chat_model`` (langchain 1.5): reached through ``langchain:``.
LANGCHAIN_PROVIDERS = (
    "anthropic_bedrock", "azure_ai", "azure_openai", "baseten", "bedrock", "bedrock_converse", "cohere", "deepseek",
    "fireworks", "google_anthropic_vertex", "google_genai", "google_vertexai", "groq", "huggingface", "ibm",
    "litellm", "meta", "mistralai", "nvidia", "ollama", "openrouter", "perplexity", "together", "upstage", "xai",
)
#: Model-name prefixes whose provider is unambiguous.
NAME_PREFIXES = (
    (("gpt-", "o1", "o3", "o4", "chatgpt"), "openai:"),
    (("claude",), "anthropic:"),
    (("gemini",), "langchain:google_genai:"),
    (("mistral", "mixtral"), "langchain:mistralai:"),
    (("deepseek",), "langchain:deepseek:"),
    (("grok",), "langchain:xai:"),
)
NATIVE = ("openai", "anthropic")


def spec_hint(spec: str) -> str | None:
    """``did you mean `openai:gpt-4o`?`` for ``openai/gpt-4o``, ``gpt-4o`` and the like; None when unsure."""
    text = spec.strip()
    guess: str | None = None
    provider, sep, rest = text.partition(":")
    if sep and provider in LANGCHAIN_PROVIDERS and rest:
        guess = f"langchain:{text}"
    elif not sep and "/" in text:
        head, _, name = text.partition("/")
        if head in NATIVE and name:
            guess = f"{head}:{name}"
        elif head.replace("-", "_") in LANGCHAIN_PROVIDERS and name:
            guess = f"langchain:{head.replace('-', '_')}:{name}"
    elif not sep and text:
        guess = next((prefix + text for starts, prefix in NAME_PREFIXES if text.lower().startswith(starts)), None)
    if guess is None:
        return None
    needs = " (needs pip install 'courtgraph[langchain]' and the provider's integration)" \
        if guess.startswith("langchain:") else ""
    return f"did you mean `{guess}`?{needs}"
