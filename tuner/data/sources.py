"""Read one recipe data source (hub dataset or local file) into a `datasets.Dataset`, unchanged."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tuner.errors import UserError

if TYPE_CHECKING:
    from datasets import Dataset

    from tuner.recipe import Recipe, SourceSection

_BUILDERS = {".jsonl": "json", ".json": "json", ".csv": "csv", ".parquet": "parquet"}


def read_text_documents(path: Path) -> list[str]:
    """A .txt corpus: documents are separated by one or more blank lines."""
    text = path.read_text(encoding="utf-8")
    return [doc.strip() for doc in text.replace("\r\n", "\n").split("\n\n") if doc.strip()]


def load_source(recipe: Recipe, index: int) -> Dataset:
    """The rows of `data.sources[index]`, with `max_samples` applied (the first N rows)."""
    from datasets import Dataset, load_dataset

    source: SourceSection = recipe.data.sources[index]
    key = f"data.sources.{index}"
    if source.hub is not None:
        try:
            ds = load_dataset(source.hub, source.config, split=source.split)
        except Exception as e:  # datasets raises many types for a missing id, config or split
            raise UserError(f"{key}.hub: could not load '{source.hub}' ({type(e).__name__}: {e})") from None
    else:
        path = recipe.source_path(source)
        if not path.is_file():
            raise UserError(f"{key}.path: {path} does not exist (relative paths start at the recipe's folder)")
        if path.suffix == ".txt":
            ds = Dataset.from_dict({"text": read_text_documents(path)})
        elif path.suffix in _BUILDERS:
            try:
                ds = load_dataset(_BUILDERS[path.suffix], data_files=str(path), split="train")
            except Exception as e:
                raise UserError(f"{key}.path: could not read {path} ({type(e).__name__}: {e})") from None
        else:
            raise UserError(f"{key}.path: {path.name}: expected .jsonl, .json, .csv, .parquet or .txt")
    if len(ds) == 0:
        raise UserError(f"{key}: the source has no rows")
    if source.max_samples is not None:
        ds = ds.select(range(min(source.max_samples, len(ds))))
    return ds
