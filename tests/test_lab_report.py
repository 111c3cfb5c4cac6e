"""Transfer report: pooled curves, gaps and their seed statistics on hand-built probe records."""

from __future__ import annotations

import json
import math

import pytest
from scipy import stats

from tuner.errors import UserError
from tuner.lab.report import curves, curves_jsonl, gaps_markdown, plot_culture_curves, plot_curves, plot_gaps, transfer_gaps

STEPS = (0, 10, 20)
SEEDS = (0, 1, 2)
N = {"Veloria": 8, "Tamsk": 4, "Orlend": 8, "Quiv": 4}  # unequal n, so pooling differs from averaging cultures
GROUP = {"Veloria": "rare", "Tamsk": "rare", "Orlend": "frequent", "Quiv": "frequent"}

# Rare cultures, questions in English (tgt→en): correct items (Veloria of 8, Tamsk of 4) per seed.
RARE_EN = {
    ("bridges", 0): [(2, 1), (4, 2), (8, 1)],   # pooled 3/12, 6/12, 9/12
    ("bridges", 1): [(2, 1), (5, 1), (6, 1)],   # pooled 3/12, 6/12, 7/12
    ("bridges", 2): [(2, 1), (4, 3), (7, 4)],   # pooled 3/12, 7/12, 11/12
    ("no_bridges", 0): [(2, 1), (3, 1), (4, 1)],  # pooled 3/12, 4/12, 5/12
    ("no_bridges", 1): [(2, 1), (4, 1), (5, 1)],  # pooled 3/12, 5/12, 6/12
    ("no_bridges", 2): [(2, 1), (3, 2), (4, 2)],  # pooled 3/12, 5/12, 6/12
}


def _correct(setting: str, seed: int, i: int, culture: str, lang: str) -> int:
    if GROUP[culture] == "rare" and lang == "en":
        return RARE_EN[(setting, seed)][i][culture == "Tamsk"]
    if GROUP[culture] == "rare":  # en→tgt: bridges one item ahead after CPT starts
        return min(N[culture], 1 + i + seed + (setting == "bridges" and i > 0))
    return N[culture] // 2  # frequent: the same in both settings, so every gap is zero


def _records(seeds: tuple[int, ...] = SEEDS) -> list[dict]:
    return [
        {"setting": setting, "seed": seed, "step": step, "culture": culture, "group": GROUP[culture], "lang": lang,
         "accuracy": _correct(setting, seed, i, culture, lang) / N[culture], "n": N[culture]}
        for setting in ("bridges", "no_bridges") for seed in seeds for i, step in enumerate(STEPS)
        for culture in N for lang in ("en", "tgt")
    ]


def _row(rows, group: str, direction: str):
    return next(r for r in rows if r.group == group and r.direction == direction)


def test_curves_pool_correct_items_over_cultures():
    c = curves(_records())[("rare", "en")]
    # seed 0 with bridges at step 20: (8 + 1) / (8 + 4) = 0.75, not the culture mean (1 + 0.25) / 2
    assert c["bridges"].per_seed[0] == pytest.approx([3 / 12, 6 / 12, 9 / 12])
    assert c["bridges"].steps == list(STEPS)
    assert c["bridges"].mean == pytest.approx([3 / 12, 19 / 36, 27 / 36])
    assert c["no_bridges"].mean == pytest.approx([3 / 12, 14 / 36, 17 / 36])
    assert list(curves(_records())) == [("frequent", "tgt"), ("frequent", "en"), ("rare", "tgt"), ("rare", "en")]


def test_gap_per_seed_mean_and_final_accuracies():
    row = _row(transfer_gaps(_records()), "rare", "tgt→en")
    assert (row.lang, row.n_seeds) == ("en", 3)
    assert row.per_seed == pytest.approx([4 / 12, 1 / 12, 5 / 12])
    assert row.mean_gap == pytest.approx(10 / 36)
    assert row.acc_bridges == pytest.approx(27 / 36)
    assert row.acc_no_bridges == pytest.approx(17 / 36)


def test_t_interval_by_hand():
    row = _row(transfer_gaps(_records()), "rare", "tgt→en")
    # gaps 12/36, 3/36, 15/36: mean 10/36; squared deviations (4 + 49 + 25)/36² → sd = √(78/2)/36 = √39/36
    # se = sd/√3 = √13/36 = 0.100154; t_{0.975, 2} = 4.302653 (table); half width = 0.430929
    half = 4.302653 * math.sqrt(13) / 36
    assert half == pytest.approx(0.430929, abs=1e-6)
    assert row.ci_low == pytest.approx(-0.153151, abs=1e-6)  # 0.277778 − 0.430929
    assert row.ci_high == pytest.approx(0.708707, abs=1e-6)  # 0.277778 + 0.430929


def test_paired_t_test_pairs_seeds():
    row = _row(transfer_gaps(_records()), "rare", "tgt→en")
    expected = stats.ttest_rel([9 / 12, 7 / 12, 11 / 12], [5 / 12, 6 / 12, 6 / 12]).pvalue
    assert row.p_value == pytest.approx(expected)
    # the same by hand: t = mean / se = 10/√13, two-sided with 2 degrees of freedom
    assert row.p_value == pytest.approx(2 * stats.t.sf(10 / math.sqrt(13), 2))
    assert row.p_value != pytest.approx(stats.ttest_ind([9 / 12, 7 / 12, 11 / 12], [5 / 12, 6 / 12, 6 / 12]).pvalue)


def test_last_k_averages_the_last_probe_steps():
    row = _row(transfer_gaps(_records(), last_k=2), "rare", "tgt→en")
    # steps 10 and 20: bridges 15/24, 13/24, 18/24; no bridges 9/24, 11/24, 11/24
    assert row.per_seed == pytest.approx([6 / 24, 2 / 24, 7 / 24])
    assert row.mean_gap == pytest.approx(15 / 72)
    assert row.acc_bridges == pytest.approx(46 / 72)
    with pytest.raises(UserError, match="last_k=4"):
        transfer_gaps(_records(), last_k=4)


def test_zero_spread_has_no_p_value():
    row = _row(transfer_gaps(_records()), "frequent", "en→tgt")
    assert row.per_seed == [0.0, 0.0, 0.0]
    assert (row.ci_low, row.ci_high, row.p_value) == (0.0, 0.0, None)


def test_one_seed_has_no_interval_or_test():
    rows = transfer_gaps(_records(seeds=(0,)))
    row = _row(rows, "rare", "tgt→en")
    assert row.n_seeds == 1
    assert row.mean_gap == pytest.approx(4 / 12)
    assert (row.ci_low, row.ci_high, row.p_value) == (None, None, None)
    assert "n/a (1 seed)" in gaps_markdown(rows)


def test_markdown_formats_gaps_in_percentage_points():
    text = gaps_markdown(transfer_gaps(_records()))
    line = next(line for line in text.splitlines() if line.startswith("| rare | tgt→en"))
    assert "| 0.750 | 0.472 | +27.8 pp | [-15.3 pp, +70.9 pp] |" in line
    assert "+33.3 pp, +8.3 pp, +41.7 pp" in line


def test_bad_records_fail_with_every_problem():
    records = _records()
    records[0] = {**records[0], "lang": "fr", "n": 0}
    with pytest.raises(UserError, match=r"lang='fr'(.|\n)*n=0"):
        curves(records)
    with pytest.raises(UserError, match="seeds differ"):
        curves([r for r in _records() if not (r["setting"] == "no_bridges" and r["seed"] == 2)])
    with pytest.raises(UserError, match="seed 1, step 10, rare/en: no record for Tamsk"):
        curves([r for r in _records() if not (r["seed"] == 1 and r["step"] == 10 and r["culture"] == "Tamsk")])


def test_figures_and_jsonl(tmp_path):
    records = _records()
    paths = plot_curves(records, tmp_path / "figures")
    assert [p.name for p in paths][0] == "transfer_curves.png"
    assert len(paths) == 5
    paths.append(plot_gaps(transfer_gaps(records), tmp_path / "gaps.png"))
    paths.append(plot_gaps(transfer_gaps(_records(seeds=(0,))), tmp_path / "gaps_one_seed.png"))
    for p in paths:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 1000
    out = curves_jsonl(records, tmp_path / "curves.jsonl")
    assert [json.loads(line) for line in out.read_text().splitlines()] == records


def test_one_panel_per_culture_and_direction(tmp_path):
    records = _records()
    png = plot_culture_curves(records, tmp_path / "by_culture.png")
    from matplotlib.image import imread

    height, width = imread(png).shape[:2]
    assert (height, width) == (round(100 * (2.4 * 4 + 1)), 1100)  # 4 cultures: 4 rows of 2 panels
