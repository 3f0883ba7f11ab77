"""The two ways of finding echoes (searching the texts for a short answer's windows, the texts' window
index for a long answer) mark exactly what the definition marks: every window copied from a long text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from courtgraph.agents import echoes
from courtgraph.agents.echoes import ECHO_MIN, Echoes

ALPHABET = st.sampled_from(list("ab \0[]A\n"))  # few letters: windows repeat often; NUL crosses the joins


def by_definition(texts: list[str], answer: str) -> list[int]:
    """Start of every answer window that occurs in one of the (long) texts."""
    longs = [t for t in texts if len(t) >= ECHO_MIN and t.strip()]
    return [i for i in range(len(answer) - ECHO_MIN + 1) if any(answer[i:i + ECHO_MIN] in t for t in longs)]


def covered(starts: list[int], length: int) -> list[bool]:
    out = [False] * length
    for i in starts:
        out[i:i + ECHO_MIN] = [True] * ECHO_MIN
    return out


def masked(e: Echoes, answer: str, *, index: bool) -> list[bool]:
    """``e.mask(answer)`` through the texts' index of windows (``index``) or by searching each window."""
    saved = echoes.SEARCH_WINDOWS
    echoes.SEARCH_WINDOWS = -1 if index else 10**6
    try:
        return e.mask(answer)
    finally:
        echoes.SEARCH_WINDOWS = saved


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(ALPHABET, min_size=0, max_size=60), max_size=4), st.text(ALPHABET, max_size=80),
       st.booleans())
def test_search_and_index_mark_the_same_windows(texts: list[str], answer: str, index: bool) -> None:
    e = Echoes.of(texts)
    expected = covered(by_definition(texts, answer), len(answer))
    got = masked(e, answer, index=index)
    # short texts only add marks (code blocks and fences cannot occur in this alphabet)
    assert all(g for g, x in zip(got, expected, strict=True) if x)
    if not e.shorts:
        assert got == expected


def test_both_orders_share_one_index() -> None:
    texts = ["x" * 20 + "first candidate text", "y" * 20 + "second candidate text"]
    echoes._windows.cache_clear()
    for order in (texts, texts[::-1]):
        Echoes.of(order).mask("z" * (echoes.SEARCH_WINDOWS + ECHO_MIN + 5))
    assert echoes._windows.cache_info().misses == 1


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(["<a id=1f>\n", "\n</a id=1f>", "<b id=2>\n", "\n</b id=2>", "<a id=2>\n", "x",
                                 "\n", "<", "</a id=1f>", "<a id=1f>"]), max_size=14))
def test_fenced_blocks_finds_what_the_fence_pattern_finds(parts: list[str]) -> None:
    from courtgraph.prompts import _FENCED, fenced_blocks

    prompt = "".join(parts)
    assert fenced_blocks(prompt) == [(m.group("tag"), m.group("body")) for m in _FENCED.finditer(prompt)]


def test_every_window_holds_a_whole_aligned_block() -> None:
    """What the block filter of the search path rests on."""
    assert echoes.BLOCK + echoes.BLOCK_STEP - 1 <= ECHO_MIN
    for i in range(50):
        k = -(-i // echoes.BLOCK_STEP) * echoes.BLOCK_STEP
        assert i <= k and k + echoes.BLOCK <= i + ECHO_MIN


@settings(max_examples=400, deadline=None)
@given(st.data(), st.lists(st.text(st.sampled_from(list("abcdefgh \0[]A\n")), min_size=ECHO_MIN, max_size=70),
                           min_size=1, max_size=3))
def test_answers_quoting_parts_of_the_texts_are_marked_as_defined(data: st.DataObject, texts: list[str]) -> None:
    """Answers made of pieces cut from the texts (any length, so windows and blocks half match) and noise."""
    pieces = []
    for _ in range(data.draw(st.integers(1, 6))):
        if data.draw(st.booleans()):
            text = data.draw(st.sampled_from(texts))
            start = data.draw(st.integers(0, len(text)))
            pieces.append(text[start:data.draw(st.integers(start, len(text)))])
        else:
            pieces.append(data.draw(st.text(st.sampled_from(list("abcxyz \n")), max_size=15)))
    answer = "".join(pieces)
    e = Echoes.of(texts)
    expected = covered(by_definition(texts, answer), len(answer))
    for index in (False, True):
        got = masked(e, answer, index=index)
        if not e.shorts:
            assert got == expected
        assert all(g for g, x in zip(got, expected, strict=True) if x)


def objects_by_definition(text: str) -> list[dict[str, object]]:
    """Every dict a JSON decoder reads from some brace of the text."""
    import json

    decoder, out = json.JSONDecoder(), []
    for i, c in enumerate(text):
        if c == "{":
            try:
                obj, _ = decoder.raw_decode(text, i)
            except ValueError:
                continue
            if isinstance(obj, dict):
                out.append(obj)
    return out


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(['{', '}', '"', '"a"', ':', '1', ',', ' ', '\n', '\t', '[', ']', '{"v": "B"}', 'x',
                                 '\\', '\u00a0', '{}', 'null']), max_size=25))
def test_json_objects_finds_what_every_brace_finds(parts: list[str]) -> None:
    from courtgraph.agents.echoes import json_objects

    text = "".join(parts)
    assert json_objects(text) == objects_by_definition(text)
