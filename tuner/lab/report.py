"""Transfer during continued pretraining: probe curves, bridges − no_bridges gaps with seed statistics, figures.

    rows = transfer_gaps(records, last_k=2)
    (out / "gaps.md").write_text(gaps_markdown(rows))
    plot_curves(records, out); plot_gaps(rows, out / "gaps.png"); curves_jsonl(records, out / "curves.jsonl")

`records` holds one dict per probe evaluation:
`{"setting": "bridges", "seed": 0, "step": 40, "culture": "Veloria", "group": "rare", "lang": "en",
"accuracy": 0.375, "n": 8}`; step 0 is the model before CPT, and every run shares one step grid.

Accuracy is pooled over a group's cultures (correct items / items), so a culture with more probes
weighs more, as each item does. Directions follow the paper: questions in the target language measure
English→target transfer ("en→tgt"), questions in English measure target→English ("tgt→en").
Seeds are the unit of replication: seed s with bridges is paired with seed s without.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from scipy import stats

from tuner.errors import UserError
from tuner.lab.world import N_OPTIONS, Group, Lang
from tuner.report.ablation import pvalue, signed_pp
from tuner.report.plots import interval_figure, pyplot

Setting = Literal["bridges", "no_bridges"]
Direction = Literal["en→tgt", "tgt→en"]

SETTINGS: tuple[Setting, ...] = get_args(Setting)
GROUPS: tuple[Group, ...] = get_args(Group)
LANGS: tuple[Lang, ...] = ("tgt", "en")  # en→tgt first, the direction the paper leads with
DIRECTION: dict[Lang, Direction] = {"tgt": "en→tgt", "en": "tgt→en"}
ASKED_IN: dict[Lang, str] = {"tgt": "questions in the target language", "en": "questions in English"}
CHANCE = 1 / N_OPTIONS  # every cloze probe offers N_OPTIONS candidates
CONFIDENCE = 0.95
COLOURS: dict[Setting, str] = {"bridges": "#1f6fb2", "no_bridges": "#d35400"}
LABELS: dict[Setting, str] = {"bridges": "bridges (pairs in one document)", "no_bridges": "no bridges (pairs apart)"}
REQUIRED = ("setting", "seed", "step", "culture", "group", "lang", "accuracy", "n")


# --- pooling -------------------------------------------------------------------------------------

# (setting, group, lang) -> seed -> step -> pooled accuracy
Pooled = dict[tuple[str, str, str], dict[int, dict[int, float]]]


def _validate(records: list[dict]) -> None:
    """Every problem at once, each naming the record and the fix."""
    problems: list[str] = []
    seen: set[tuple] = set()
    for i, r in enumerate(records):
        missing = [k for k in REQUIRED if k not in r]
        if missing:
            problems.append(f"record {i}: missing {', '.join(missing)}; each record needs {', '.join(REQUIRED)}")
            continue
        for key, allowed in (("setting", SETTINGS), ("group", GROUPS), ("lang", get_args(Lang))):
            if r[key] not in allowed:
                problems.append(f"record {i}: {key}={r[key]!r}; use one of {', '.join(allowed)}")
        if not (isinstance(r["n"], int) and r["n"] > 0):
            problems.append(f"record {i}: n={r['n']!r}; n is the number of probe items, a positive integer")
        if not 0 <= r["accuracy"] <= 1:
            problems.append(f"record {i}: accuracy={r['accuracy']!r}; give a fraction in [0, 1]")
        key = (r["setting"], r["seed"], r["step"], r["culture"], r["lang"])
        if key in seen:
            problems.append(f"record {i}: a second record for {key}; keep one evaluation per run, step, culture, language")
        seen.add(key)
    if problems:
        raise UserError("probe records:\n  " + "\n  ".join(problems))
    if not records:
        raise UserError("probe records: none given; pass the records of both settings")
    # Pooling compares like with like only when every run probes the same cultures at the same steps.
    probed: dict[tuple, set[str]] = defaultdict(set)
    for r in records:
        probed[(r["setting"], r["seed"], r["step"], r["group"], r["lang"])].add(r["culture"])
    runs = sorted({(k[0], k[1]) for k in probed}, key=str)
    steps = sorted({k[2] for k in probed})
    members: dict[tuple, set[str]] = defaultdict(set)
    for (_, _, _, group, lang), cultures in probed.items():
        members[(group, lang)] |= cultures
    for setting, seed in runs:
        for step in steps:
            for (group, lang), cultures in sorted(members.items()):
                missing = cultures - probed.get((setting, seed, step, group, lang), set())
                if missing:
                    problems.append(f"{setting} seed {seed}, step {step}, {group}/{lang}: no record for "
                                    f"{', '.join(sorted(missing))}; every run must probe the same cultures at the same steps")
    seeds = {s: {seed for setting, seed in runs if setting == s} for s in SETTINGS}
    if seeds["bridges"] != seeds["no_bridges"]:
        problems.append(f"seeds differ: bridges {sorted(seeds['bridges'])}, no_bridges {sorted(seeds['no_bridges'])}; "
                        "seeds are paired across settings, so give both the same seeds")
    if problems:
        raise UserError("probe records:\n  " + "\n  ".join(problems))


def _pool(records: list[dict]) -> Pooled:
    _validate(records)
    correct: dict[tuple, float] = defaultdict(float)
    total: dict[tuple, int] = defaultdict(int)
    for r in records:
        key = (r["setting"], r["group"], r["lang"], r["seed"], r["step"])
        correct[key] += r["accuracy"] * r["n"]
        total[key] += r["n"]
    pooled: Pooled = defaultdict(lambda: defaultdict(dict))
    for (setting, group, lang, seed, step), c in correct.items():
        pooled[(setting, group, lang)][seed][step] = c / total[(setting, group, lang, seed, step)]
    return pooled


def _series(pooled: Pooled) -> list[tuple[Group, Lang]]:
    """(group, lang) pairs present, in the canonical order: frequent before rare, en→tgt before tgt→en."""
    present = {(g, lang) for _, g, lang in pooled}
    return [(g, lang) for g in GROUPS for lang in LANGS if (g, lang) in present]


# --- curves --------------------------------------------------------------------------------------


@dataclass
class Curve:
    """One setting's accuracy against CPT step, pooled over a group's cultures."""

    steps: list[int]
    mean: list[float]
    """Mean over seeds at each step."""
    per_seed: dict[int, list[float]]
    """Seed -> accuracy at each step."""


def curves(records: list[dict]) -> dict[tuple[Group, Lang], dict[Setting, Curve]]:
    """Per (group, lang) and setting: pooled accuracy at every step, per seed and its mean over seeds."""
    pooled = _pool(records)
    out: dict[tuple[Group, Lang], dict[Setting, Curve]] = {}
    for group, lang in _series(pooled):
        out[(group, lang)] = {}
        for setting in SETTINGS:
            by_seed = pooled[(setting, group, lang)]
            steps = sorted(next(iter(by_seed.values())))
            per_seed = {seed: [by_seed[seed][s] for s in steps] for seed in sorted(by_seed)}
            mean = [sum(v[i] for v in per_seed.values()) / len(per_seed) for i in range(len(steps))]
            out[(group, lang)][setting] = Curve(steps, mean, per_seed)
    return out


# --- gaps ----------------------------------------------------------------------------------------


@dataclass
class GapRow:
    """Transfer for one group and direction: accuracy with bridges − without, across paired seeds."""

    group: Group
    direction: Direction
    lang: Lang
    """The language the questions are asked in."""
    n_seeds: int
    mean_gap: float
    ci_low: float | None
    """95% t-interval over seeds; None with one seed, where the spread is unknown."""
    ci_high: float | None
    p_value: float | None
    """Paired t-test over seeds; None with one seed or when every seed has the same gap."""
    per_seed: list[float]
    """Gap per seed, in seed order."""
    acc_bridges: float
    """Mean over seeds of the final accuracy (mean over the last k probe steps)."""
    acc_no_bridges: float


def _t_interval(values: list[float]) -> tuple[float | None, float | None]:
    """mean ± t_{0.975, n−1} · sd / √n; undefined for a single value."""
    n = len(values)
    if n < 2:
        return None, None
    mean = sum(values) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = stats.t.ppf((1 + CONFIDENCE) / 2, n - 1) * sd / math.sqrt(n)
    return mean - half, mean + half


def transfer_gaps(records: list[dict], last_k: int = 1) -> list[GapRow]:
    """Per group and direction, the bridges − no_bridges gap at the end of CPT, with seed statistics.

    `last_k` > 1 averages each run over its last k probe steps first: a steadier end point when
    single probes are noisy.
    """
    table = curves(records)
    n_steps = len(next(iter(table.values()))["bridges"].steps)
    if not 1 <= last_k <= n_steps:
        raise UserError(f"last_k={last_k}; give 1 to {n_steps}, the number of probe steps")
    rows = []
    for (group, lang), by_setting in table.items():
        final = {s: {seed: sum(v[-last_k:]) / last_k for seed, v in c.per_seed.items()} for s, c in by_setting.items()}
        seeds = sorted(final["bridges"])
        bridges = [final["bridges"][s] for s in seeds]
        apart = [final["no_bridges"][s] for s in seeds]
        gaps = [b - a for b, a in zip(bridges, apart)]
        low, high = _t_interval(gaps)
        # Identical gaps on every seed leave no spread to test against (scipy gives nan or a bare 0).
        spread = len(seeds) >= 2 and max(gaps) - min(gaps) > 1e-12
        p = float(stats.ttest_rel(bridges, apart).pvalue) if spread else None
        rows.append(GapRow(group, DIRECTION[lang], lang, len(seeds), sum(gaps) / len(gaps), low, high, p, gaps,
                           sum(bridges) / len(seeds), sum(apart) / len(seeds)))
    return rows


# --- text ----------------------------------------------------------------------------------------


def _ci(row: GapRow) -> str:
    if row.ci_low is None or row.ci_high is None:
        return f"n/a ({row.n_seeds} seed)"
    return f"[{signed_pp(row.ci_low)}, {signed_pp(row.ci_high)}]"


def _p(row: GapRow) -> str:
    if row.p_value is not None:
        return pvalue(row.p_value)
    return f"n/a ({row.n_seeds} seed)" if row.n_seeds < 2 else "n/a (same gap on every seed)"


def gaps_markdown(rows: list[GapRow]) -> str:
    """The gap table: accuracies as fractions (3 decimals), gaps in percentage points."""
    lines = [
        "| cultures | transfer | questions in | seeds | acc. bridges | acc. no bridges | gap | 95% CI | p (paired t) | gap per seed |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.group} | {r.direction} | {'English' if r.lang == 'en' else 'target'} | {r.n_seeds} "
            f"| {r.acc_bridges:.3f} | {r.acc_no_bridges:.3f} | {signed_pp(r.mean_gap)} | {_ci(r)} | {_p(r)} "
            f"| {', '.join(signed_pp(g) for g in r.per_seed)} |"
        )
    lines.append("")
    lines.append("Accuracy pooled over the group's cultures, mean over seeds; gap = bridges − no bridges, "
                 "seed s paired with seed s; the 95% CI is a t-interval across seeds.")
    return "\n".join(lines) + "\n"


def curves_jsonl(records: list[dict], path: Path | str) -> Path:
    """The raw probe records, one JSON object per line, so the figures can be redrawn."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


# --- figures -------------------------------------------------------------------------------------


def _title(group: str, lang: Lang) -> str:
    return f"{group} cultures, {DIRECTION[lang]} ({ASKED_IN[lang]})"


def _panel(ax, group: str, lang: Lang, by_setting: dict[Setting, Curve], title: str | None = None) -> None:
    """Both settings' mean curves, seed min–max bands, the gap between the means shaded, chance."""
    steps = by_setting["bridges"].steps
    for setting in SETTINGS:
        c = by_setting[setting]
        seeds = list(c.per_seed.values())
        low = [100 * min(v[i] for v in seeds) for i in range(len(steps))]
        high = [100 * max(v[i] for v in seeds) for i in range(len(steps))]
        ax.fill_between(steps, low, high, color=COLOURS[setting], alpha=0.12, linewidth=0)
        ax.plot(steps, [100 * m for m in c.mean], marker="o", markersize=3, color=COLOURS[setting],
                label=f"{LABELS[setting]}, mean of {len(seeds)} seeds")
    ax.fill_between(steps, [100 * m for m in by_setting["bridges"].mean], [100 * m for m in by_setting["no_bridges"].mean],
                    facecolor="none", edgecolor="#27ae60", hatch="///", linewidth=0, label="gap (transfer)")
    ax.axhline(100 * CHANCE, color="grey", linestyle="--", linewidth=1, label=f"chance ({100 * CHANCE:.0f}%)")
    ax.set_ylim(0, 100)
    ax.xaxis.get_major_locator().set_params(integer=True)  # steps are whole numbers
    ax.set_xlabel("CPT step")
    ax.set_ylabel("cloze accuracy (%)")
    ax.set_title(title or _title(group, lang), fontsize=10)
    ax.grid(alpha=0.3)


def plot_curves(records: list[dict], out_dir: Path | str) -> list[Path]:
    """`transfer_curves.png` (all panels, the one to show first), then one figure per group and direction."""
    plt = pyplot()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    table = curves(records)
    band_note = "lines: mean over seeds; light bands: seed min–max; hatched: gap between the means"

    fig, axes = plt.subplots(2, 2, figsize=(12, 8), sharex=True, sharey=True, squeeze=False)
    for ax in axes.flat:
        ax.set_visible(False)
    for (group, lang), by_setting in table.items():
        ax = axes[GROUPS.index(group)][LANGS.index(lang)]
        ax.set_visible(True)
        _panel(ax, group, lang, by_setting)
        ax.label_outer()  # shared axes: tick labels and axis titles on the outer panels only
    handles, labels = next(ax for ax in axes.flat if ax.get_visible()).get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=8)
    fig.suptitle(f"Transfer during continued pretraining: bridges vs no bridges\n({band_note})", fontsize=11)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    paths = [out_dir / "transfer_curves.png"]
    fig.savefig(paths[0], dpi=120)
    plt.close(fig)

    for (group, lang), by_setting in table.items():
        fig, ax = plt.subplots(figsize=(7, 4.5))
        _panel(ax, group, lang, by_setting)
        ax.legend(fontsize=8, title=band_note.replace("; ", "\n"), title_fontsize=7, alignment="left")
        fig.tight_layout()
        path = out_dir / f"curves_{group}_{DIRECTION[lang].replace('→', '-to-')}.png"
        fig.savefig(path, dpi=120)
        plt.close(fig)
        paths.append(path)
    return paths


def plot_gaps(rows: list[GapRow], path: Path | str, title: str = "Transfer gap at the end of CPT") -> Path:
    """Mean gap with its 95% CI per group × direction; a row with one seed shows its point only."""
    labels = [f"{r.group}, {r.direction} ({ASKED_IN[r.lang].removeprefix('questions ')}), "
              f"{r.n_seeds} seed{'s' if r.n_seeds != 1 else ''}{'' if r.ci_low is not None else ', no CI'}" for r in rows]
    return interval_figure(
        [(r.mean_gap, r.ci_low, r.ci_high) for r in rows], labels,
        "bridges − no bridges (percentage points, 95% t-interval over seeds;\nred/green: CI excludes 0)", title, Path(path),
    )


def plot_culture_curves(records: list[dict], path: Path | str) -> Path:
    """One panel per culture and direction (rows: cultures; columns: questions in the target
    language, in English), as `transfer_curves.png` draws them per group."""
    plt = pyplot()
    path = Path(path)
    cultures = list(dict.fromkeys(r["culture"] for r in records))
    fig, axes = plt.subplots(len(cultures), len(LANGS), figsize=(11, 2.4 * len(cultures) + 1), sharex=True, sharey=True, squeeze=False)
    for row, culture in enumerate(cultures):
        for (group, lang), by_setting in curves([r for r in records if r["culture"] == culture]).items():
            ax = axes[row][LANGS.index(lang)]
            _panel(ax, group, lang, by_setting, title=f"{culture} ({group}), {DIRECTION[lang]}")
            ax.label_outer()
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=8)
    fig.suptitle("Transfer per culture: bridges vs no bridges (mean over seeds, seed min–max bands)", fontsize=11)
    fig.tight_layout(rect=(0, 0.03, 1, 0.98))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
