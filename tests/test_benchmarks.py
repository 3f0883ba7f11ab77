"""Benchmark loaders: the bundled sample, JudgeBench, LLMBar, mapped JSONL/CSV, and every bad-input error."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from published import JUDGEBENCH, LLMBAR, OUTPUTS

from courtgraph.errors import InputError
from courtgraph.evals.benchmarks import judgebench, load_bench, parse_mapping
from courtgraph.schema import Case

needs_data = pytest.mark.skipif(not JUDGEBENCH.is_file(), reason="../shared/data (JudgeBench, LLMBar) is absent")


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


# the bundled sample

def test_sample_is_balanced_checkable_and_complete() -> None:
    bench = load_bench("sample")
    cases = bench.cases
    assert bench.name == "sample" and 20 <= len(cases) <= 40
    assert len({c.id for c in cases}) == len(cases)
    labels = Counter(c.label for c in cases)
    assert labels["A"] == labels["B"] == len(cases) // 2
    assert {"math", "logic", "code", "facts"} <= {c.category for c in cases}
    assert all(c.pairwise and c.candidates[0] != c.candidates[1] for c in cases)
    assert sum(c.reference is not None for c in cases) >= 3
    assert sum(c.context is not None for c in cases) >= 3


def _right_and_wrong(case_id: str) -> tuple[str, str]:
    case = next(c for c in load_bench("sample").cases if c.id == case_id)
    right = case.candidates[0 if case.label == "A" else 1]
    return right, case.candidates[1 if case.label == "A" else 0]


def _function(source: str, name: str) -> Any:
    scope: dict[str, Any] = {}
    exec(source, scope)
    return scope[name]


def test_sample_code_answers_are_really_right_and_wrong() -> None:
    right, wrong = _right_and_wrong("code-fib")
    assert [_function(right, "fib")(n) for n in (0, 1, 2, 10)] == [0, 1, 1, 55]
    assert _function(wrong, "fib")(0) != 0
    right, wrong = _right_and_wrong("code-palindrome")
    assert _function(right, "is_palindrome")("Aba") and not _function(right, "is_palindrome")("abc")
    assert not _function(wrong, "is_palindrome")("Aba")
    right, wrong = _right_and_wrong("code-range-step")
    assert str(list(range(10, 0, -3))) in right and str(list(range(10, 0, -3))) not in wrong
    right, wrong = _right_and_wrong("math-modpow")
    assert pow(2, 100, 7) == 2 and "remainder is 2" in right and "remainder is 2" not in wrong


# JudgeBench and LLMBar on the real data

@needs_data
def test_judgebench_pairs_categories_labels_and_metadata() -> None:
    bench = load_bench(f"judgebench:{JUDGEBENCH}")
    assert bench.name == "judgebench" and bench.source == str(JUDGEBENCH) and len(bench) == 350
    assert Counter(c.category for c in bench.cases) == {"knowledge": 154, "reasoning": 98, "math": 56, "coding": 42}
    assert Counter(c.label for c in bench.cases) == {"A": 193, "B": 157}
    raw = json.loads(JUDGEBENCH.read_text(encoding="utf-8").splitlines()[0])
    first = bench.cases[0]
    assert first.id == raw["pair_id"] and first.question == raw["question"]
    assert first.candidates == [raw["response_A"], raw["response_B"]]
    assert first.label == {"A>B": "A", "B>A": "B"}[raw["label"]]
    assert first.metadata == {k: raw[k] for k in ("source", "original_id", "response_model")}


@needs_data
def test_judgebench_output_files_load_as_the_same_pairs() -> None:
    outputs = sorted(OUTPUTS.glob("arena_hard*.jsonl"))
    pairs = {c.id: c for c in load_bench(f"judgebench:{JUDGEBENCH}").cases}
    for case in load_bench(f"judgebench:{outputs[0]}").cases:
        assert case == pairs[case.id]


@needs_data
def test_llmbar_tree_subset_folder_and_file() -> None:
    tree = load_bench(f"llmbar:{LLMBAR}").cases
    assert Counter(c.category for c in tree) == {"Natural": 100, "Adversarial/Neighbor": 134, "Adversarial/GPTInst": 92,
                                                  "Adversarial/GPTOut": 47, "Adversarial/Manual": 46}
    assert len({c.id for c in tree}) == len(tree) == 419
    neighbor = load_bench(f"llmbar:{LLMBAR / 'Adversarial' / 'Neighbor'}").cases
    assert {c.category for c in neighbor} == {"Adversarial/Neighbor"} and neighbor[17].id == "Adversarial/Neighbor/17"
    natural = load_bench(f"llmbar:{LLMBAR / 'Natural' / 'dataset.json'}").cases
    raw = json.loads((LLMBAR / "Natural" / "dataset.json").read_text(encoding="utf-8"))
    assert [c.id for c in natural[:2]] == ["Natural/0", "Natural/1"]
    assert [c.label for c in natural] == [{1: "A", 2: "B"}[r["label"]] for r in raw]
    assert natural[3].question == raw[3]["input"] and natural[3].candidates == [raw[3]["output_1"], raw[3]["output_2"]]
    assert {c.id: c for c in tree}["Natural/3"] == natural[3]  # the same id whichever way it was loaded


# jsonl: any file through a mapping

ROWS = [{"uid": "x1", "prompt": "2+2?", "response1": "4", "response2": "5", "winner": 1, "topic": "math",
         "gold": {"answer": "4"}},
        {"uid": "x2", "prompt": "Capital of France?", "response1": "Lyon", "response2": "Paris", "winner": "model_b"}]


def test_jsonl_with_field_and_label_mapping(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "mine.jsonl", ROWS)
    bench = load_bench(f"jsonl:{path}", field_map="question=prompt,a=response1,b=response2,label=winner,id=uid,"
                       "category=topic,reference=gold.answer", label_map="1=A,2=B,model_b=B")
    assert bench.name == "mine" and [c.id for c in bench.cases] == ["x1", "x2"]
    first, second = bench.cases
    assert first == Case(id="x1", question="2+2?", candidates=["4", "5"], label="A", category="math", reference="4")
    assert second.label == "B" and second.category is None and second.reference is None


def test_csv_with_mapping_and_line_number_ids(tmp_path: Path) -> None:
    path = tmp_path / "pairs.csv"
    path.write_text('prompt,r1,r2,winner,notes\n"Say ""hi""",hi,bye,B>A,\n2+2?,4,5,a,"multi\nline"\n3+3?,6,7,A,\n',
                    encoding="utf-8")
    cases = load_bench(f"jsonl:{path}", field_map={"question": "prompt", "a": "r1", "b": "r2", "label": "winner"}).cases
    assert [c.label for c in cases] == ["B", "A", "A"]
    assert cases[0].question == 'Say "hi"' and [c.id for c in cases] == ["2", "3", "5"]  # ids are start lines


def test_native_case_format_needs_no_mapping(tmp_path: Path) -> None:
    row = {"id": "n1", "question": "q", "candidates": ["x", "y"], "label": "tie", "context": "ctx",
           "metadata": {"k": 1}}
    single = {"id": "n2", "question": "grade", "candidates": ["x"], "label": 7}
    cases = load_bench(f"jsonl:{write_jsonl(tmp_path / 'n.jsonl', [row, single])}").cases
    assert cases[0] == Case(id="n1", question="q", candidates=["x", "y"], label="tie", context="ctx",
                            metadata={"k": 1})
    assert not cases[1].pairwise and cases[1].label == 7.0


def test_parse_mapping() -> None:
    assert parse_mapping(" question = prompt , a=r1,, ") == {"question": "prompt", "a": "r1"}
    with pytest.raises(InputError, match="not KEY=VALUE"):
        parse_mapping("question")
    with pytest.raises(InputError, match="given twice"):
        parse_mapping("a=x,a=y")


# bad input: one InputError naming the file, the line and the field

def _error(tmp_path: Path, name: str, content: str, **kwargs: Any) -> InputError:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_bench(f"jsonl:{path}", **kwargs)
    assert info.value.path == str(path)
    return info.value


GOOD = json.dumps({"id": "1", "question": "q", "a": "x", "b": "y", "label": "A"})


def test_malformed_json_line_names_the_line(tmp_path: Path) -> None:
    err = _error(tmp_path, "bad.jsonl", f"{GOOD}\n\n{{\"id\": \"2\", \"question\": \n")
    assert err.line == 3 and "not valid JSON" in str(err) and "bad.jsonl:3" in str(err)
    err = _error(tmp_path, "list.jsonl", "[1, 2]\n[3]\n")  # JSON lines whose first line is an array
    assert err.line == 1 and "expected a JSON object" in str(err)
    err = _error(tmp_path, "array.jsonl", "[1, 2]\n")  # one JSON array, whatever the extension says
    assert err.field == "[0]" and "expected a JSON object, got int" in str(err)


def test_missing_field_names_the_source_column(tmp_path: Path) -> None:
    row = {"id": "1", "prompt": "q", "r1": "x", "label": "A"}
    err = _error(tmp_path, "m.jsonl", json.dumps(row) + "\n", field_map="question=prompt,a=r1,b=r2")
    assert (err.line, err.field, err.message) == (1, "r2", "missing")
    err = _error(tmp_path, "n.jsonl", json.dumps({"question": "q", "a": "x", "b": "y", "label": None}) + "\n")
    assert err.field == "label" and "no label" in str(err)


def test_unknown_label_suggests_a_label_map(tmp_path: Path) -> None:
    err = _error(tmp_path, "l.jsonl", GOOD + "\n" + GOOD.replace('"A"', '"first"').replace('"1"', '"2"') + "\n")
    assert (err.line, err.field) == (2, "label") and "'first'" in str(err) and "--label-map" in str(err)


def test_duplicate_ids_name_both_lines(tmp_path: Path) -> None:
    err = _error(tmp_path, "d.jsonl", f"{GOOD}\n{GOOD}\n")
    assert (err.line, err.field) == (2, "id") and "duplicate id '1' (first at line 1)" in str(err)


def test_empty_and_missing_files(tmp_path: Path) -> None:
    assert "empty file" in str(_error(tmp_path, "e.jsonl", "\n  \n"))
    assert "empty file" in str(_error(tmp_path, "e.csv", "question,a,b,label\n"))
    with pytest.raises(InputError, match="no such file"):
        load_bench(f"jsonl:{tmp_path / 'nope.jsonl'}")
    with pytest.raises(InputError, match="no such file"):
        load_bench(f"llmbar:{tmp_path / 'nope'}")
    with pytest.raises(InputError, match=r"no dataset\.json"):
        load_bench(f"llmbar:{tmp_path}")


def test_json_array_items_csv_cells_and_types(tmp_path: Path) -> None:
    array = [{"question": "q", "a": "x", "b": "y", "label": "A"}, {"question": "q", "a": "x", "b": ["y"], "label": "B"}]
    err = _error(tmp_path, "arr.json", json.dumps(array))
    assert err.line is None and err.field == "[1].b" and "expected text, got list" in str(err)
    err = _error(tmp_path, "c.csv", "question,a,b,label\nq,x,y,A,extra\n")
    assert err.line == 2 and "more cells" in str(err)


def test_bad_mappings_and_specs(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "g.jsonl", [json.loads(GOOD)])
    with pytest.raises(InputError, match="unknown field 'answer'") as info:
        load_bench(f"jsonl:{path}", field_map="answer=x")
    assert info.value.field == "map"
    with pytest.raises(InputError, match="maps to A, B or tie"):
        load_bench(f"jsonl:{path}", label_map="1=first")
    with pytest.raises(InputError, match="apply to jsonl"):
        load_bench("sample", field_map="a=x")
    with pytest.raises(InputError, match="unknown benchmark 'mmlu'") as info:
        load_bench("mmlu")
    assert info.value.field == "bench"
    with pytest.raises(InputError, match="jsonl:PATH"):
        load_bench("jsonl")


# downloads: a cached copy is used as is; offline is one clear error (never a real host here)

def test_judgebench_offline_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURTGRAPH_DATA", str(tmp_path))
    monkeypatch.setattr(judgebench, "URL", "http://127.0.0.1:9/gpt.jsonl")
    with pytest.raises(InputError, match=r"could not download http://127\.0\.0\.1:9/gpt\.jsonl .*judgebench:PATH"):
        load_bench("judgebench")
    assert not any(tmp_path.rglob("*.jsonl*"))  # no partial download left to be mistaken for the data


def test_judgebench_without_path_reads_the_cached_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURTGRAPH_DATA", str(tmp_path))
    monkeypatch.setattr(judgebench, "URL", "http://127.0.0.1:9/gpt.jsonl")  # must not be fetched
    cached = tmp_path / "judgebench" / "gpt-4o-2024-05-13.jsonl"
    cached.parent.mkdir()
    write_jsonl(cached, [{"pair_id": "p", "source": "livecodebench", "question": "q", "response_A": "x",
                          "response_B": "y", "label": "B>A", "original_id": None, "response_model": "m"}])
    bench = load_bench("judgebench")
    assert bench.source == str(cached) and bench.cases[0].category == "coding" and bench.cases[0].label == "B"
