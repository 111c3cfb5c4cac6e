"""Rich tables for the terminal."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from tuner.train.trainer import RunResult


def print_run_summary(result: RunResult, console: Console | None = None) -> None:
    console = console or Console()
    table = Table(title=f"Run finished: {result.out}", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    loss = (
        f"{result.first_loss:.4f} → {result.final_loss:.4f}" if result.first_loss is not None else "not logged"
    )
    for key, value in [
        ("optimizer steps", str(result.steps)),
        ("tokens trained", f"{result.train_tokens_seen:,}"),
        ("tokens/s", f"{result.tokens_per_s:,.1f}"),
        ("loss (first → last log)", loss),
        ("peak memory", f"{result.peak_memory_mb:,.0f} MiB"),
        ("wall time", f"{result.wall_s:,.1f} s"),
        ("outputs", f"{result.out}  (adapter or model, tokenizer, recipe.yaml, metrics.jsonl, loss.png, run.json)"),
    ]:
        table.add_row(key, value)
    console.print(table)
