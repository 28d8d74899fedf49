"""Reading a prompts file (CSV or JSONL) into generation requests, each with its Idempotency-Key.

Columns (CSV header or JSON keys): `style_id` (or a default style for the whole file), `tags` (a list, or
one string of comma-separated tags), and optionally `aspect_ratio`, `seed`, `description` and `key` (your
own Idempotency-Key for the row). The whole file is checked before anything is sent.

A row's key is derived from its request and how many identical rows came before it, so running the same
file again (after a crash, a Ctrl-C, a failed row) returns the images already paid for instead of charging
again, even when rows were added or reordered meanwhile. Keys live 24 hours on the server; pass a different
`run_name` to generate the same file anew.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stylelicense.errors import BatchFileError

KNOWN_COLUMNS = {"style_id", "tags", "prompt_tags", "aspect_ratio", "seed", "description", "key"}


@dataclass(frozen=True)
class PromptRow:
    line: int  # in the file, for messages
    style_id: int
    prompt_tags: list[str]
    aspect_ratio: str | None
    seed: int | None
    description: str | None
    idempotency_key: str

    def request(self) -> dict[str, Any]:
        """The keyword arguments of `StyleLicense.request_generation`."""
        return {"style_id": self.style_id, "prompt_tags": self.prompt_tags, "aspect_ratio": self.aspect_ratio,
                "seed": self.seed, "description": self.description, "idempotency_key": self.idempotency_key}


def read_prompts(path: Path, *, default_style_id: int | None = None, run_name: str = "") -> list[PromptRow]:
    if path.suffix.lower() == ".csv":
        records = _csv_records(path)
    elif path.suffix.lower() in (".jsonl", ".ndjson"):
        records = _jsonl_records(path)
    else:
        raise BatchFileError(0, f"{path.name}: expected a .csv or .jsonl file")
    seen: Counter[str] = Counter()
    rows = []
    for line, record in records:
        fields = _fields(line, record, default_style_id)
        canonical = json.dumps(fields, sort_keys=True, ensure_ascii=False)
        seen[canonical] += 1
        key = _text(record.get("key")) or _derived_key(canonical, seen[canonical], run_name)
        rows.append(PromptRow(line=line, idempotency_key=key, **fields))
    if not rows:
        raise BatchFileError(0, f"{path.name} has no rows")
    return rows


def _csv_records(path: Path) -> list[tuple[int, dict]]:
    with path.open(newline="", encoding="utf-8-sig") as file:
        reader = csv.DictReader(file)
        unknown = set(reader.fieldnames or []) - KNOWN_COLUMNS
        if unknown:
            raise BatchFileError(1, f"unknown columns {sorted(unknown)}; known: {sorted(KNOWN_COLUMNS)}")
        return [(reader.line_num, row) for row in reader if any((value or "").strip() for value in row.values())]


def _jsonl_records(path: Path) -> list[tuple[int, dict]]:
    records = []
    for line, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as error:
            raise BatchFileError(line, f"not JSON ({error.msg})") from None
        if not isinstance(record, dict):
            raise BatchFileError(line, "expected a JSON object")
        unknown = set(record) - KNOWN_COLUMNS
        if unknown:
            raise BatchFileError(line, f"unknown fields {sorted(unknown)}")
        records.append((line, record))
    return records


def _fields(line: int, record: dict, default_style_id: int | None) -> dict[str, Any]:
    style_id = _integer(line, "style_id", record.get("style_id")) or default_style_id
    if style_id is None:
        raise BatchFileError(line, "style_id is missing (give the column or a default style)")
    tags = record.get("tags", record.get("prompt_tags"))
    if isinstance(tags, str):
        tags = [tag.strip() for tag in tags.split(",")]
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise BatchFileError(line, "tags must be a list of strings or one comma-separated string")
    tags = [tag.strip() for tag in tags if tag.strip()]
    if not tags:
        raise BatchFileError(line, "tags are missing")
    return {
        "style_id": style_id,
        "prompt_tags": tags,
        "aspect_ratio": _text(record.get("aspect_ratio")),
        "seed": _integer(line, "seed", record.get("seed")),
        "description": _text(record.get("description")),
    }


def _text(value: Any) -> str | None:
    return str(value).strip() or None if value is not None else None


def _integer(line: int, name: str, value: Any) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise BatchFileError(line, f"{name} must be a whole number")
    try:
        return int(str(value).strip())
    except ValueError:
        raise BatchFileError(line, f"{name} must be a whole number, not {value!r}") from None


def _derived_key(canonical: str, occurrence: int, run_name: str) -> str:
    digest = hashlib.sha256(f"{run_name}\n{occurrence}\n{canonical}".encode()).hexdigest()
    return f"stylelicense-batch-{digest[:40]}"
