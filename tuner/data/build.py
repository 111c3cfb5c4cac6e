"""Recipe data → tokenised train/eval datasets and a report of what happened to every example.

Order: load each source → hold out its eval share (before weighting, so repeats never leak into
eval) → weight → format and tokenise → concatenate. Packing is left to trl (see train/trainer.py).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tuner.data.formats import check_columns, column_map, to_messages
from tuner.data.script import non_latin_letters
from tuner.data.sources import load_source
from tuner.data.tokenize import IGNORE, text_windows, tokenize_chat
from tuner.errors import UserError

if TYPE_CHECKING:
    from datasets import Dataset
    from transformers import PreTrainedTokenizerBase

    from tuner.recipe import Recipe


@dataclass
class SourceReport:
    name: str
    format: str
    rows: int = 0  # rows read (after max_samples)
    train_rows: int = 0  # after the eval hold-out and weighting
    eval_rows: int = 0
    examples: int = 0  # training sequences (text documents may give several windows)
    tokens: int = 0
    trained_tokens: int = 0  # tokens with a label (assistant tokens for chat)
    truncated: int = 0
    dropped: int = 0
    split_documents: int = 0  # text documents longer than max_length, continued in further windows
    non_latin: int = 0  # text documents with non-Latin letters (dropped when latin_only: drop)
    lengths: list[int] = field(default_factory=list, repr=False)


@dataclass
class BuiltData:
    train: Dataset
    eval: Dataset | None
    sources: list[SourceReport]


def _weighted(indices: list[int], weight: float, rng: random.Random) -> list[int]:
    """weight 2.5: every index twice plus a random half of them once more; 0.5: a random half."""
    whole, frac = int(weight), weight - int(weight)
    extra = rng.sample(indices, round(frac * len(indices)))
    return indices * whole + sorted(extra)


def _tokenize_rows(
    ds: Dataset, rows: list[int], recipe: Recipe, index: int, tokenizer: PreTrainedTokenizerBase, report: SourceReport | None
) -> tuple[list[list[int]], list[list[int]]]:
    source = recipe.data.sources[index]
    key = f"data.sources.{index}"
    mapping = column_map(source.format, source.columns, key)
    check_columns(ds.column_names, mapping, source.format, key)
    max_length = recipe.training.max_length
    input_ids: list[list[int]] = []
    labels: list[list[int]] = []
    for row_index, row in zip(rows, ds.select(rows), strict=True):
        where = f"{key} row {row_index}"
        if source.format == "text":
            doc = row[mapping["text"]]
            if not isinstance(doc, str) or not doc.strip():
                continue
            if source.latin_only != "off" and non_latin_letters(doc):
                if report is not None:
                    report.non_latin += 1
                if source.latin_only == "drop":
                    continue
            windows = text_windows(doc, tokenizer, max_length)
            if report is not None and len(windows) > 1:
                report.split_documents += 1
            input_ids.extend(windows)
            labels.extend(list(w) for w in windows)
            continue
        try:
            tok = tokenize_chat(to_messages(row, source.format, mapping, where), tokenizer, max_length, recipe.training.truncation)
        except UserError as e:
            raise UserError(f"{where}: {e}") from None
        if report is not None:
            report.truncated += tok.status == "truncated"
            report.dropped += tok.status == "dropped"
        if tok.status != "dropped":
            input_ids.append(tok.input_ids)
            labels.append(tok.labels)
    if report is not None:
        report.examples += len(input_ids)
        report.tokens += sum(map(len, input_ids))
        report.trained_tokens += sum(sum(label != IGNORE for label in ls) for ls in labels)
        report.lengths.extend(map(len, input_ids))
    return input_ids, labels


def build_datasets(recipe: Recipe, tokenizer: PreTrainedTokenizerBase) -> BuiltData:
    from datasets import Dataset

    rng = random.Random(recipe.training.seed)
    train_ids: list[list[int]] = []
    train_labels: list[list[int]] = []
    eval_ids: list[list[int]] = []
    eval_labels: list[list[int]] = []
    reports = []
    for index, source in enumerate(recipe.data.sources):
        ds = load_source(recipe, index)
        report = SourceReport(name=source.path or source.hub or "", format=source.format, rows=len(ds))
        order = list(range(len(ds)))
        rng.shuffle(order)
        n_eval = round(recipe.data.eval_fraction * len(ds))
        held_out, kept = sorted(order[:n_eval]), sorted(order[n_eval:])
        train_rows = _weighted(kept, source.weight, rng)
        report.train_rows, report.eval_rows = len(train_rows), len(held_out)
        ids, labels = _tokenize_rows(ds, train_rows, recipe, index, tokenizer, report)
        train_ids += ids
        train_labels += labels
        if held_out:
            ids, labels = _tokenize_rows(ds, held_out, recipe, index, tokenizer, None)
            eval_ids += ids
            eval_labels += labels
        reports.append(report)
    if not train_ids:
        raise UserError("data: no training examples left (all dropped or empty); check training.max_length and the sources")
    train = Dataset.from_dict({"input_ids": train_ids, "labels": train_labels})
    evaluation = Dataset.from_dict({"input_ids": eval_ids, "labels": eval_labels}) if eval_ids else None
    return BuiltData(train, evaluation, reports)
