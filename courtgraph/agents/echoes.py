"""Which parts of a model's answer are not its own words: echoes of untrusted text, and quoted material.

A verdict tag counts only if the model wrote it. The candidates are untrusted (a candidate may end
with ``[[B]]`` or carry a whole JSON verdict), and a judge often quotes them, so a tag that sits in a
span repeated from a candidate, or in material the answer itself marks as quoted (a code block, the
prompt's fences), is not a verdict. A span counts as repeated when it is at least :data:`ECHO_MIN`
characters copied verbatim from an untrusted text, or a whole untrusted text shorter than that:
shorter coincidences ("the answer is 42") are the model's own words. Zero-width characters are
removed from both sides first, as the parser removes them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property, lru_cache

#: Shortest verbatim copy of untrusted text that counts as an echo (unless the whole text is shorter).
ECHO_MIN = 12
#: Up to this many windows, an answer's windows are looked up in the texts one by one (a C substring
#: search, about 1 ns a character); a longer answer uses the texts' index of windows (:func:`_windows`).
SEARCH_WINDOWS = 256
#: Searching, a window is looked up only if the first block of BLOCK characters starting at a multiple of
#: BLOCK_STEP inside it is in the texts: every window holds one whole (BLOCK + BLOCK_STEP - 1 <= ECHO_MIN), and
#: a window of the texts holds only substrings of them. An answer in the model's own words misses most blocks,
#: so it costs about a sixth of the searches (7 and 6 measured fastest on JudgeBench cases).
BLOCK, BLOCK_STEP = 7, 6
ZERO_WIDTH_CHARS = "\u200b\u200c\u200d\u2060\ufeff"
ZERO_WIDTH = re.compile(f"[{ZERO_WIDTH_CHARS}]")
#: Material an answer marks as quoted: code blocks, and any block in the prompt's fence syntax.
_QUOTED = re.compile(r"```.*?```|<(?P<tag>[a-z][a-z0-9_]*) id=(?P<id>[0-9a-f]+)>.*?</(?P=tag) id=(?P=id)>", re.DOTALL)
_INLINE_CODE = re.compile(r"`([^`\n]+)`")


def clean(text: str) -> str:
    """``text`` without zero-width characters. Most texts have none: five character searches tell (each
    instant in a text whose characters are all narrower, as ASCII is) before the regular expression runs."""
    if not any(zw in text for zw in ZERO_WIDTH_CHARS):
        return text
    return ZERO_WIDTH.sub("", text)


@dataclass(frozen=True)
class Echoes:
    """The untrusted texts of one request, indexed to find verbatim copies of them in an answer."""

    texts: tuple[str, ...] = ()
    longs: tuple[str, ...] = ()  # the texts of at least ECHO_MIN characters, whose windows are echoes
    shorts: tuple[str, ...] = ()
    haystack: str = ""  # the long texts joined by NUL: a window without a NUL is in one of them iff in this

    @classmethod
    def of(cls, texts: Iterable[str]) -> Echoes:
        # a text is kept if it has a non-blank character (what strip() tells, without copying the text)
        return _echoes(tuple(dict.fromkeys([c for c in map(_cleaned, texts) if c and not c.isspace()])))

    @cached_property
    def objects(self) -> tuple[dict[str, object], ...]:
        """The JSON objects inside the texts (verdicts to refuse), found when a structured answer asks."""
        return tuple(o for t in self.texts for o in _objects(t))

    def mask(self, text: str) -> list[bool]:
        """Per character of ``text`` (already cleaned): whether it is repeated or quoted material."""
        out = [False] * len(text)
        windows = len(text) - ECHO_MIN + 1
        if windows > 0 and self.longs:
            longs = self.longs
            if windows <= SEARCH_WINDOWS:
                starts: Iterable[int] = self._searched(text, windows)
            else:
                index = _windows(tuple(sorted(longs)))  # the same for both orders of a case
                starts = (i for i in range(windows) if text[i:i + ECHO_MIN] in index)
            for i in starts:
                out[i:i + ECHO_MIN] = [True] * ECHO_MIN
        for short in self.shorts:
            for m in re.finditer(re.escape(short), text):
                out[m.start():m.end()] = [True] * (m.end() - m.start())
        for m in _QUOTED.finditer(text):
            out[m.start():m.end()] = [True] * (m.end() - m.start())
        for m in _INLINE_CODE.finditer(text):
            if not re.fullmatch(r"\s*\[\[[^\]]*\]\]\s*", m.group(1)):  # `[[A]]` alone is formatting, not a quote
                out[m.start():m.end()] = [True] * (m.end() - m.start())
        return out

    def _searched(self, text: str, windows: int) -> list[int]:
        """The start of every window of ``text`` found in a long text, searching (see :data:`BLOCK`)."""
        haystack, longs = self.haystack, self.longs
        hit = [text[k:k + BLOCK] in haystack for k in range(0, len(text) - BLOCK + 1, BLOCK_STEP)]
        found = []
        for i in range(windows):
            if not hit[-(-i // BLOCK_STEP)]:  # the first aligned block inside the window
                continue
            window = text[i:i + ECHO_MIN]
            if window in haystack and ("\0" not in window or any(window in t for t in longs)):
                found.append(i)
        return found

    def copied(self, text: str) -> bool:
        """Whether ``text`` is made only of echoes: every non-blank character repeated or quoted."""
        text = clean(text)
        masked = self.mask(text)
        return bool(text.strip()) and all(m or c.isspace() for c, m in zip(text, masked, strict=True))


@lru_cache(maxsize=64)
def _cleaned(text: str) -> str:
    """:func:`clean`, once per text: the same case texts come with every call of a case."""
    return clean(text)


@lru_cache(maxsize=64)
def _echoes(cleaned: tuple[str, ...]) -> Echoes:
    """The Echoes of these (cleaned, non-blank, distinct) texts, built once for every call that shows them
    in this order (every agent of a trial)."""
    longs = tuple(t for t in cleaned if len(t) >= ECHO_MIN)
    shorts = tuple(t for t in cleaned if len(t) < ECHO_MIN)
    return Echoes(cleaned, longs, shorts, "\0".join(longs))


@lru_cache(maxsize=64)
def _objects(text: str) -> tuple[dict[str, object], ...]:
    """:func:`json_objects`, once per text (a candidate full of code has many braces to try)."""
    return tuple(json_objects(text))


@lru_cache(maxsize=16)
def _windows(longs: tuple[str, ...]) -> frozenset[str]:
    """Every ECHO_MIN-character window of the texts, built once for the calls that share them (every agent
    of a case, in both orders): indexing a JudgeBench case costs more than the rest of a call's framework
    CPU. A window of an answer is an echo exactly when it is in this set. 16 entries hold a few MB."""
    return frozenset(t[i:i + ECHO_MIN] for t in longs for i in range(len(t) - ECHO_MIN + 1))


def own(span: tuple[int, int], text: str, masked: list[bool]) -> bool:
    """Whether the span ``text[a:b]`` has a non-blank character the model wrote itself."""
    a, b = span
    marks = masked[a:b]
    if True not in marks:  # nothing repeated or quoted (the usual tag): any non-blank character is its own
        return not text[a:b].isspace() and a < b
    return any(not m and not c.isspace() for c, m in zip(text[a:b], marks, strict=True))


#: Where a JSON object can start: a brace, JSON whitespace, then a key's quote or the closing brace. Any other
#: brace fails to decode at once (and a failure costs an exception that counts the lines before it).
_OBJECT_START = re.compile(r'\{[ \t\n\r]*["}]')


def json_objects(text: str) -> list[dict[str, object]]:
    """Every JSON object embedded in ``text`` (a candidate may carry a verdict as JSON)."""
    decoder, out = json.JSONDecoder(), []
    for m in _OBJECT_START.finditer(text):
        try:
            obj, _ = decoder.raw_decode(text, m.start())
        except ValueError:
            continue
        if isinstance(obj, dict):
            out.append(obj)
    return out


NO_ECHOES = Echoes()
