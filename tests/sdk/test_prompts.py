"""Reading prompts files: every row checked before anything is sent, and Idempotency-Keys that stay the same
when the same file runs again."""

from __future__ import annotations

from pathlib import Path

import pytest

from stylelicense import BatchFileError, read_prompts


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_csv_and_jsonl_read_alike(tmp_path):
    from_csv = read_prompts(_write(tmp_path, "p.csv", 'style_id,tags,seed\n7,"cat, moon",3\n\n7,boats,\n'))
    from_jsonl = read_prompts(_write(tmp_path, "p.jsonl",
                                     '{"style_id": 7, "tags": ["cat", "moon"], "seed": 3}\n\n'
                                     '{"style_id": "7", "prompt_tags": "boats"}\n'))
    assert [r.request() for r in from_csv] == [r.request() for r in from_jsonl]
    assert from_csv[0].prompt_tags == ["cat", "moon"] and from_csv[1].seed is None
    assert [r.line for r in from_csv] == [2, 4] and [r.line for r in from_jsonl] == [1, 3]


def test_keys_survive_a_rerun_reordering_and_new_rows(tmp_path):
    first = read_prompts(_write(tmp_path, "a.csv", "tags\ncat\ncat\ndog\n"), default_style_id=1)
    edited = read_prompts(_write(tmp_path, "b.csv", "tags\nbird\ndog\ncat\ncat\n"), default_style_id=1)
    keys = [r.idempotency_key for r in first]
    assert len(set(keys)) == 3  # identical rows are two images
    assert {r.idempotency_key for r in edited} >= set(keys)
    renamed = read_prompts(_write(tmp_path, "c.csv", "tags\ncat\ncat\ndog\n"), default_style_id=1, run_name="v2")
    assert not {r.idempotency_key for r in renamed} & set(keys)
    own = read_prompts(_write(tmp_path, "d.csv", "tags,key\ncat,my-key-1\n"), default_style_id=1)
    assert own[0].idempotency_key == "my-key-1"


@pytest.mark.parametrize(("name", "text", "problem"), [
    ("p.csv", "tags\ncat\n", "line 2: style_id is missing"),
    ("p.csv", "style_id,tags\nseven,cat\n", "line 2: style_id must be a whole number"),
    ("p.csv", "style_id,tags,colour\n1,cat,red\n", "line 1: unknown columns ['colour']"),
    ("p.csv", "style_id,tags\n1, , \n", "line 2: tags are missing"),
    ("p.csv", "style_id,tags\n", "has no rows"),
    ("p.jsonl", '{"style_id": 1, "tags": "cat"}\n{"style_id": 1, "tags": [1]}\n', "line 2: tags must be"),
    ("p.jsonl", "{not json\n", "line 1: not JSON"),
    ("p.jsonl", "[1, 2]\n", "line 1: expected a JSON object"),
    ("p.txt", "cat\n", "expected a .csv or .jsonl file"),
])
def test_bad_rows_are_named_by_line(tmp_path, name, text, problem):
    with pytest.raises(BatchFileError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        read_prompts(_write(tmp_path, name, text))
