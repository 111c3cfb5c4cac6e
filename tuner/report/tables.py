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
    eval_loss = (
        f"{result.first_eval_loss:.4f} → {result.final_eval_loss:.4f}" if result.first_eval_loss is not None else "not evaluated"
    )
    for key, value in [
        ("optimizer steps", str(result.steps)),
        ("tokens trained", f"{result.train_tokens_seen:,}"),
        ("tokens/s", f"{result.tokens_per_s:,.1f}"),
        ("train loss (first → last log)", loss),
        ("eval loss (first → last)", eval_loss),
        ("peak memory", f"{result.peak_memory_mb:,.0f} MiB"),
        ("wall time", f"{result.wall_s:,.1f} s"),
        ("outputs", f"{result.out}  (adapter or model, tokenizer, recipe.yaml, metrics.jsonl, loss.png, run.json)"),
    ]:
        table.add_row(key, value)
    console.print(table)


def _pct(acc: dict) -> str:
    if acc["accuracy"] is None:
        return "–"
    return f"{acc['accuracy']:.1%} [{acc['ci_low']:.1%}, {acc['ci_high']:.1%}]"


def print_eval_results(results: dict, console: Console | None = None) -> None:
    """Accuracy per benchmark and variant (language), then per category, with 95% Wilson CIs."""
    console = console or Console()
    model = results["model"]
    table = Table(title=f"{model['ref']}  (fingerprint {model['fingerprint']})", title_justify="left")
    for col in ["benchmark", "variant", "scoring", "n", "accuracy [95% CI]"]:
        table.add_column(col, justify="right" if col == "n" else "left")
    # Questionnaires (no right answer) are summarised below instead of as accuracies.
    graded = [b for b in results["benchmarks"] if b["overall"]["n"]]
    for b in graded:
        o = b["overall"]
        note = f"  ({o['unparsed']} unparsed)" if o.get("unparsed") else ""
        table.add_row(b["id"], b["label"], b["scoring"], str(o["n"]), _pct(o) + note)
    if graded:
        console.print(table)
    for bench_id in dict.fromkeys(b["id"] for b in graded):
        runs = [b for b in graded if b["id"] == bench_id]
        cats = sorted({c for b in runs for c in b["by_category"]})
        if len(cats) < 2:
            continue
        sub = Table(title=f"{bench_id} by category", title_justify="left")
        sub.add_column("category")
        for b in runs:
            sub.add_column(f"{b['label']} ({b['scoring']})")
        for cat in cats:
            sub.add_row(cat, *(_pct(b["by_category"][cat]) if cat in b["by_category"] else "–" for b in runs))
        console.print(sub)
    for bench_id, summary in results.get("summaries", {}).items():
        print_summary(bench_id, summary, console)
    t = results["timing"]
    console.print(
        f"[dim]scored {t['items_scored']} items in {t['scoring_s']:.1f} s ({t['items_per_s']:.1f} items/s, "
        f"{t['tokens_per_s']:.0f} tokens/s); wall {t['wall_s']:.1f} s[/dim]"
    )


def print_ledger(report: dict, console: Console | None = None) -> None:
    """The knowledge ledger of `tuner ablate`, compact enough for a terminal (report.md has every CI)."""
    from rich.markup import escape

    from tuner.report.ablation import pct, pvalue

    console = console or Console()
    meta = report["meta"]
    table = Table(title=f"{meta['tuned']['ref']} vs {meta['base']['ref']}", title_justify="left")
    for col in ["benchmark", "variant", "scoring", "n", "base", "tuned", "Δ pp [95% CI]", "lost", "gained", "McNemar p"]:
        table.add_column(col, justify="left" if col in ("benchmark", "variant", "scoring") else "right")
    graded = [b for b in report["benchmarks"] if b.get("n")]
    for b in graded:
        d = b["delta"]
        table.add_row(
            b["id"], b["label"], b["scoring"].removeprefix("mc_"), str(b["n"]), pct(b["base"]["accuracy"]), pct(b["tuned"]["accuracy"]),
            f"{100 * d['mean']:+.1f} [{100 * d['ci_low']:+.1f}, {100 * d['ci_high']:+.1f}]",
            str(b["ledger"]["lost"]), str(b["ledger"]["gained"]), pvalue(b["mcnemar_p"]),
        )
    if graded:
        console.print(table)
    for v in report.get("values", []):
        console.print(escape(
            f"{v['benchmark']} [{v['lang']}] {v['country']}: {v['measure']} {v['base']:.2f} → {v['tuned']:.2f} ({v['change']:+.2f})"
        ))
    for r in report["recall_vs_retention"]:
        console.print(escape(
            f"{r['id']} [{r['variant']}, {r['scoring']}]: {r['lost']} lost, of which {r['still_known']} still ranked first "
            f"by log-likelihood (known, not recalled) and {r['forgotten']} forgotten"
        ))


def print_summary(bench_id: str, summary: dict, console: Console) -> None:
    """One line per cross-variant result: VSM alignment per prompt language, IW map placement."""
    from rich.markup import escape

    if "expected" in summary:  # VSM
        for lang, res in summary["expected"].items():
            india = next((c for c in res["countries"] if c["persona"] == "india"), None)
            extra = f", India {india['alignment']['ratio']:.2f}" if india else ""
            console.print(f"{bench_id} [{lang}]: mean alignment ratio {res['mean_ratio']:.2f}{extra} (higher is closer; vsm.md has the table)", markup=False)
    if "map" in summary:  # IW map
        note = summary.get("projection_error")
        placed = ", ".join(f"{k}: {v['point']}" for k, v in summary["variants"].items() if "point" in v)
        console.print(escape(f"{bench_id}: map {summary['map']}; " + (placed or f"models not placed ({note.splitlines()[0] if note else ''})")))
