"""Load a benchmark's rows and map them to Items; malformed rows fail naming file, row and column."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tuner.errors import UserError
from tuner.evals.spec import BenchmarkSpec, Item

_ITEM_FIELDS = ("id", "question", "choices", "answer", "lang", "category", "country")
_BUILDERS = {".jsonl": "json", ".json": "json", ".csv": "csv", ".parquet": "parquet"}


def read_rows(spec: BenchmarkSpec) -> tuple[list[dict[str, Any]], str]:
    """The raw rows and a label for error messages (the file or hub id)."""
    from datasets import load_dataset

    src = spec.source
    if src.hub is not None:
        try:
            ds = load_dataset(src.hub, src.config, split=src.split)
        except Exception as e:  # no network, missing config or split: all are "data not available"
            how = f" {src.get}" if src.get else ""
            raise UserError(f"benchmark '{spec.id}': could not load hub dataset '{src.hub}' ({type(e).__name__}).{how}") from None
        return list(ds), src.hub
    rows: list[dict[str, Any]] = []
    labels = []
    for lang, name in src.local_files().items():
        path = Path(name).expanduser()
        path = path if path.is_absolute() else spec.base_dir / path
        if not path.is_file():
            how = f" {src.get}" if src.get else ""
            raise UserError(f"benchmark '{spec.id}': data file {path} not found.{how}")
        if path.suffix not in _BUILDERS:
            raise UserError(f"benchmark '{spec.id}': {path.name}: expected .jsonl, .json, .csv or .parquet")
        part = list(load_dataset(_BUILDERS[path.suffix], data_files=str(path), split="train"))
        if lang is not None:  # a file per language, parallel by row
            id_column, lang_column = spec.columns.get("id", "id"), spec.columns.get("lang", "lang")
            part = [{id_column: i, **row, lang_column: lang} for i, row in enumerate(part)]
        rows += part
        labels.append(str(path))
    return rows, " + ".join(labels)


def to_item(row: dict[str, Any], spec: BenchmarkSpec, where: str) -> Item:
    """Map one row through the spec's column mapping and check it."""
    values: dict[str, Any] = {}
    for name in _ITEM_FIELDS:
        column = spec.columns.get(name, name)
        if column in row:
            values[name] = row[column]
        elif name in ("id", "question", "choices", "answer"):
            raise UserError(f"{where}: column '{column}' (item field '{name}') is missing; map it under columns: in the spec")
    choices = values["choices"]
    if not isinstance(choices, list) or len(choices) < 2 or not all(isinstance(c, str) and c.strip() for c in choices):
        raise UserError(f"{where}: column '{spec.columns.get('choices', 'choices')}' must be a list of ≥2 non-empty strings")
    answer = values["answer"]
    if isinstance(answer, str) and answer in choices:  # the answer given as the option's text
        answer = values["answer"] = choices.index(answer)
    if answer is not None and (not isinstance(answer, int) or not 0 <= answer < len(choices)):
        raise UserError(f"{where}: column '{spec.columns.get('answer', 'answer')}' = {answer!r} is not an index into {len(choices)} choices")
    if spec.format == "cloze" and values["question"].count("___") != 1:
        raise UserError(f"{where}: a cloze question needs exactly one '___' blank")
    values["id"] = str(values["id"])
    values.setdefault("lang", spec.languages[0])
    values["meta"] = {k: v for k, v in row.items() if k not in spec.columns.values() and k not in _ITEM_FIELDS}
    return Item(**{k: ("" if v is None and k in ("category", "country") else v) for k, v in values.items()})


def load_items(spec: BenchmarkSpec) -> list[Item]:
    rows, label = read_rows(spec)
    build = getattr(spec.benchmark_module(), "build_items", None)
    if build is not None:
        items = build(rows, label, **spec.module_options)
    else:
        items = [to_item(row, spec, f"{label} row {i + 1}") for i, row in enumerate(rows)]
    seen: set[str] = set()
    for item in items:
        if item.key in seen:
            raise UserError(f"{label}: item id '{item.id}' appears twice for language '{item.lang}'")
        seen.add(item.key)
    return items
