"""Paired statistics on constructed cases with known answers, the comparison, the base check and the report."""

from __future__ import annotations

import json
import math
import re

import pytest

from tuner.ablate.compare import compare_pairs
from tuner.ablate.stats import ledger, mcnemar_exact, paired_bootstrap
from tuner.errors import UserError


def test_ledger_counts_and_derived_figures():
    base = [True, True, True, True, False, False, True, False]
    tuned = [True, False, False, True, True, False, True, False]
    led = ledger(base, tuned)
    assert (led.retained, led.lost, led.gained, led.never) == (3, 2, 1, 2)
    assert led.net == -1 and led.forgetting == pytest.approx(2 / 5)


def test_mcnemar_exact_against_the_binomial_by_hand():
    # 1 lost vs 9 gained: P(X<=1) for Bin(10, .5) = (1 + 10) / 1024; two-sided doubles it.
    assert mcnemar_exact(1, 9) == pytest.approx(22 / 1024)
    assert mcnemar_exact(9, 1) == pytest.approx(22 / 1024)
    assert mcnemar_exact(5, 5) == 1.0
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(0, 6) == pytest.approx(2 / 64)


def test_paired_bootstrap_of_a_constant_shift_is_exact_and_seeded():
    base = [0.0, 1.0, 0.0, 1.0] * 5
    tuned = [x + 1.0 for x in base]
    assert paired_bootstrap(base, tuned, 500, seed=1) == pytest.approx((1.0, 1.0, 1.0))
    noisy_a = [float(i % 2) for i in range(40)]
    noisy_b = [float((i // 2) % 2) for i in range(40)]
    assert paired_bootstrap(noisy_a, noisy_b, 2000, seed=3) == paired_bootstrap(noisy_a, noisy_b, 2000, seed=3)


def test_bootstrap_ci_matches_the_normal_approximation_on_a_large_case():
    # 200 items: 30 lost, 10 gained. Δ = -0.1; the paired SE is sqrt((p_l + p_g - Δ²) / n).
    base = [1.0] * 30 + [0.0] * 10 + [1.0] * 100 + [0.0] * 60
    tuned = [0.0] * 30 + [1.0] * 10 + [1.0] * 100 + [0.0] * 60
    mean, low, high = paired_bootstrap(base, tuned, 20_000, seed=0)
    se = math.sqrt((0.15 + 0.05 - 0.01) / 200)
    assert mean == pytest.approx(-0.1)
    assert low == pytest.approx(-0.1 - 1.96 * se, abs=0.006) and high == pytest.approx(-0.1 + 1.96 * se, abs=0.006)


def test_compare_pairs_on_a_constructed_case():
    def resp(item, correct, margin, cat="a"):
        return {"item": item, "correct": correct, "margin": margin, "category": cat, "pred": 0}

    pairs = [(resp(i, True, 1.0), resp(i, i >= 3, 0.5)) for i in range(10)] + [(resp(10, False, -1.0), resp(10, True, 0.2))]
    out = compare_pairs(pairs, seed=0)
    assert out["ledger"] == {"retained": 7, "lost": 3, "gained": 1, "never": 0, "n": 11, "net": -2, "forgetting": 0.3}
    assert out["mcnemar_p"] == pytest.approx(mcnemar_exact(3, 1))
    assert out["delta"]["mean"] == pytest.approx(-2 / 11)
    assert out["margin_change"]["mean"] == pytest.approx((10 * -0.5 + 1.2) / 11)
    assert out["base"]["accuracy"] == pytest.approx(10 / 11) and out["tuned"]["accuracy"] == pytest.approx(8 / 11)


def test_ablate_end_to_end_on_tiny_models(tiny_model, tiny_recipe, tmp_path):
    from typer.testing import CliRunner

    from tests.test_evals import write_spec
    from tuner.cli import app
    from tuner.recipe import load_recipe
    from tuner.train.trainer import train

    run = train(load_recipe(str(tiny_recipe()), ["training.max_steps=3"])).out
    spec = write_spec(tmp_path)
    args = ["ablate", "--base", str(tiny_model), "--tuned", str(run), "--suite", str(spec), "--out", str(tmp_path / "rep"),
            "--store", str(tmp_path / "s.sqlite")]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    report = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert [(b["label"], b["scoring"]) for b in report["benchmarks"]] == [
        ("en", "mc_loglik"), ("en", "mc_letter"), ("hi", "mc_loglik"), ("hi", "mc_letter")
    ]
    assert report["meta"]["items_scored"] == 12 * 2
    md = (tmp_path / "rep" / "report.md").read_text()
    # Every McNemar p and Δ in the markdown is the JSON's number, formatted.
    for b in report["benchmarks"]:
        row = next(line for line in md.splitlines() if line.startswith(f"| {b['id']} | {b['label']} | {b['scoring']} |"))
        assert f"{100 * b['delta']['mean']:+.1f} pp" in row
        p = b["mcnemar_p"]
        assert ("<0.001" if p < 0.001 else f"{p:.3f}") in row
    assert (tmp_path / "rep" / "lost_gained.png").is_file() and (tmp_path / "rep" / "report.html").is_file()
    assert len(report["recall_vs_retention"]) == 2

    second = CliRunner().invoke(app, args)
    assert second.exit_code == 0
    assert json.loads((tmp_path / "rep" / "report.json").read_text())["meta"]["forward_calls"] == 0
    assert re.search(r"0 items scored, 0 forward passes", second.output)


def test_adapter_on_another_base_is_refused(tiny_model, tiny_recipe, tmp_path):
    from tests.conftest import build_tiny_model
    from tuner.ablate.ablate import ablate
    from tuner.evals.store import ResultStore
    from tuner.recipe import load_recipe
    from tuner.train.trainer import train

    run = train(load_recipe(str(tiny_recipe()), ["training.max_steps=1"])).out
    other = build_tiny_model(tmp_path / "other", seed=5)
    with pytest.raises(UserError, match="was trained on .* not on --base"):
        ablate(str(other), str(run), suite="control", store=ResultStore(tmp_path / "s.sqlite"))
