"""`tuner data inspect RECIPE`: what the trainer will see, before any training."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table
from rich.text import Text

from tuner.data.tokenize import IGNORE

if TYPE_CHECKING:
    from tuner.data.build import BuiltData
    from tuner.recipe import Recipe


@dataclass
class PackingStats:
    sequences: int  # training rows after packing
    tokens: int
    fill: float  # tokens / (rows x max_length): the non-padding share if rows were padded to max_length


def packing_stats(data: BuiltData, recipe: Recipe) -> PackingStats:
    """Pack exactly as the trainer will (trl's bfd on already-cut examples) and measure the fill."""
    from trl.data_utils import pack_dataset

    max_length = recipe.training.max_length
    tokens = sum(len(x) for x in data.train["input_ids"])
    if recipe.training.packing:
        rows = len(pack_dataset(data.train.select_columns(["input_ids", "labels"]), max_length, "bfd"))
    else:
        rows = len(data.train)
    return PackingStats(rows, tokens, tokens / (rows * max_length))


def length_histogram(lengths: list[int], max_length: int, bins: int = 8, width: int = 40) -> Table:
    table = Table(title="Example lengths (tokens)", title_justify="left")
    table.add_column("range", justify="right")
    table.add_column("count", justify="right")
    table.add_column("")
    step = max(1, -(-max_length // bins))
    counts = [0] * bins
    for n in lengths:
        counts[min(bins - 1, (n - 1) // step)] += 1
    top = max(counts) or 1
    for i, c in enumerate(counts):
        table.add_row(f"{i * step + 1}–{min(max_length, (i + 1) * step)}", str(c), "█" * round(width * c / top))
    return table


def render_loss_mask(input_ids: list[int], labels: list[int], tokenizer) -> Text:
    """The example as text: trained tokens green, masked (prompt/system) tokens dim.

    Runs of equally-masked tokens are decoded together: a byte-level tokenizer splits one Devanagari
    character over several tokens, which decode to nonsense one at a time."""
    text = Text()
    start = 0
    for end in range(1, len(input_ids) + 1):
        if end == len(input_ids) or (labels[end] != IGNORE) != (labels[start] != IGNORE):
            text.append(tokenizer.decode(input_ids[start:end]), style="bold green" if labels[start] != IGNORE else "dim")
            start = end
    return text


def inspect_recipe(recipe: Recipe, console: Console | None = None) -> PackingStats:
    from tuner.data.build import build_datasets
    from tuner.models import load_tokenizer, resolve

    console = console or Console()
    tokenizer = load_tokenizer(resolve(recipe.model.name), recipe.model.revision, recipe.model.trust_remote_code)
    data = build_datasets(recipe, tokenizer)
    max_length = recipe.training.max_length

    table = Table(title=f"Sources (max_length {max_length}, truncation '{recipe.training.truncation}')", title_justify="left")
    table.add_column("")
    for s in data.sources:
        table.add_column(f"{Path(s.name).name} ({s.format})", justify="right")
    rows = [
        ("rows read", "rows"), ("train rows (weighted)", "train_rows"), ("eval rows", "eval_rows"),
        ("training sequences", "examples"), ("tokens", "tokens"), ("trained tokens", "trained_tokens"),
        ("truncated", "truncated"), ("dropped", "dropped"), ("documents split into windows", "split_documents"),
        ("documents with non-Latin letters", "non_latin"),
    ]
    for label, attr in rows:
        table.add_row(label, *(f"{getattr(s, attr):,}" for s in data.sources))
    console.print(table)
    lengths = [n for s in data.sources for n in s.lengths]
    console.print(length_histogram(lengths, max_length))
    stats = packing_stats(data, recipe)
    mode = "packed (bfd, padding-free)" if recipe.training.packing else "not packed"
    console.print(
        f"{mode}: {stats.tokens:,} tokens in {stats.sequences:,} sequences of ≤{max_length}; "
        f"fill {stats.fill:.1%} (non-padding share if each sequence were padded to max_length)"
    )
    console.rule("Example 0 as the model sees it: [bold green]trained[/bold green] / [dim]masked[/dim]")
    console.print(render_loss_mask(data.train[0]["input_ids"], data.train[0]["labels"], tokenizer))
    return stats
