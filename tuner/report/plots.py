"""Matplotlib figures written next to the numbers they show."""

from __future__ import annotations

import json
from pathlib import Path


def pyplot():
    """matplotlib.pyplot on the file-only Agg backend (no display on servers and in launched workers);
    imported on first use so the CLI starts without it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def loss_curve(metrics_path: Path, out: Path, title: str) -> Path | None:
    """Training (and eval, when logged) loss against optimizer step."""
    plt = pyplot()

    records = [json.loads(line) for line in metrics_path.read_text().splitlines() if line.strip()]
    train = [(r["step"], r["loss"]) for r in records if "loss" in r]
    evals = [(r["step"], r["eval_loss"]) for r in records if "eval_loss" in r]
    if not train:
        return None
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(*zip(*train), marker="o", markersize=3, label="train loss")
    if evals:
        ax.plot(*zip(*evals), marker="s", label="eval loss")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("cross-entropy (nats/token)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def interval_figure(points: list[tuple[float, float | None, float | None]], labels: list[str], xlabel: str, title: str, out: Path) -> Path:
    """Changes (fractions, drawn in percentage points) with their 95% CIs, one labelled row each: red or
    green where the CI excludes 0, grey otherwise, a hollow point where there is no CI."""
    plt = pyplot()

    fig, ax = plt.subplots(figsize=(8, 0.4 * len(points) + 1.4))
    for y, (mean, low, high) in enumerate(points):
        if low is None or high is None:
            ax.plot(100 * mean, y, "o", color="#7f8c8d", markerfacecolor="white")
            continue
        colour = "#c0392b" if high < 0 else "#27ae60" if low > 0 else "#7f8c8d"
        ax.errorbar(100 * mean, y, xerr=[[100 * (mean - low)], [100 * (high - mean)]], fmt="o", color=colour, capsize=3)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(range(len(points)), labels, fontsize=7)
    ax.set_ylim(len(points) - 0.5, -0.5)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def forest_plot(comparisons: list[dict], out: Path, title: str) -> Path | None:
    """Accuracy change with its 95% CI, one row per comparison, benchmark and variant."""
    rows = [(f"{c['name']}: {b['id']} [{b['label']}, {b['scoring'].replace('mc_', '')}]", b["delta"])
            for c in comparisons for b in c["benchmarks"] if b.get("n")]
    if not rows:
        return None
    return interval_figure(
        [(d["mean"], d["ci_low"], d["ci_high"]) for _, d in rows], [label for label, _ in rows],
        "accuracy change (percentage points; red/green: CI excludes 0)", title, out,
    )


def probe_curves(path: Path, out: Path, title: str) -> Path | None:
    """Accuracy against step, one line per benchmark and variant."""
    plt = pyplot()

    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not records:
        return None
    fig, ax = plt.subplots(figsize=(7, 4))
    for key in dict.fromkeys((r["benchmark"], r["variant"]) for r in records):
        points = sorted((r["step"], r["accuracy"]) for r in records if (r["benchmark"], r["variant"]) == key)
        ax.plot(*zip(*points), marker="o", markersize=3, label=f"{key[0]} [{key[1]}]")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out
