"""Paired comparison of two models' results on identical items and variants.

Per benchmark and variant, and per category inside it: accuracy of each model with its 95% CI, the
ledger (retained, lost, gained, never; net; forgetting), the exact McNemar test on the discordant
pairs, a paired bootstrap CI of the accuracy change, and the mean change of the correct-answer
margin with its bootstrap CI. Then recall vs retention: items lost under a letter or generation
scoring whose correct answer the tuned model still ranks first by log-likelihood.
"""

from __future__ import annotations

from typing import Any

from tuner.ablate.stats import ledger, mcnemar_exact, paired_bootstrap
from tuner.errors import UserError
from tuner.evals.evaluate import EvalResult, EvalRun
from tuner.evals.metrics import accuracy

N_BOOT = 10_000


def _paired(base: EvalRun, tuned: EvalRun) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Responses matched by item id (parallel translations share it, so a Hindi prompt can be
    compared with the English one); refuses anything but identical item sets."""
    if base.spec.id != tuned.spec.id:
        raise UserError(f"cannot pair benchmark '{base.spec.id}' with '{tuned.spec.id}'")
    a = {r["id"]: r for r in base.responses}
    b = {r["id"]: r for r in tuned.responses}
    if a.keys() != b.keys():
        only = sorted(a.keys() ^ b.keys())[:3]
        raise UserError(f"{base.spec.id} [{base.variant.name} vs {tuned.variant.name}]: the two result sets hold different items (e.g. {only}); compare identical items only")
    return [(a[k], b[k]) for k in a if a[k].get("correct") is not None]


def compare_pairs(pairs: list[tuple[dict[str, Any], dict[str, Any]]], seed: int) -> dict[str, Any]:
    if not pairs:
        return {"n": 0}
    base_ok = [bool(x["correct"]) for x, _ in pairs]
    tuned_ok = [bool(y["correct"]) for _, y in pairs]
    led = ledger(base_ok, tuned_ok)
    delta, low, high = paired_bootstrap([float(v) for v in base_ok], [float(v) for v in tuned_ok], N_BOOT, seed)
    out: dict[str, Any] = {
        "n": len(pairs),
        "base": accuracy(x for x, _ in pairs).as_dict(),
        "tuned": accuracy(y for _, y in pairs).as_dict(),
        "delta": {"mean": delta, "ci_low": low, "ci_high": high},
        "ledger": led.as_dict(),
        "mcnemar_p": mcnemar_exact(led.lost, led.gained),
    }
    # Position bias: a model that picks the same option for nearly every item scores near chance
    # whatever it knows; the report flags it rather than reading its accuracy as knowledge.
    for side, k in (("base", 0), ("tuned", 1)):
        preds = [p[k].get("pred") for p in pairs]
        top = max(set(preds), key=preds.count)
        out[side]["top_prediction_share"] = preds.count(top) / len(preds)
    margins = [(x["margin"], y["margin"]) for x, y in pairs if x.get("margin") is not None and y.get("margin") is not None]
    if margins:
        m, mlow, mhigh = paired_bootstrap([x for x, _ in margins], [y for _, y in margins], N_BOOT, seed)
        out["margin_change"] = {"mean": m, "ci_low": mlow, "ci_high": mhigh, "n": len(margins)}
    return out


def _same_prompt(a: EvalRun, b: EvalRun) -> bool:
    """Two runs of one benchmark that differ only in their scoring kind."""
    va, vb = a.variant, b.variant
    return a.spec.id == b.spec.id and (va.lang, va.persona, va.shots, va.chat) == (vb.lang, vb.persona, vb.shots, vb.chat)


def recall_vs_retention(base: list[EvalRun], tuned: list[EvalRun]) -> list[dict[str, Any]]:
    """For items lost under mc_letter or generate: does mc_loglik still rank the right answer first?
    "still known, no longer recalled" vs "forgotten" (the effect arXiv 2505.21548 names)."""
    rows = []
    for i, run in enumerate(tuned):
        if run.variant.scoring not in ("mc_letter", "generate"):
            continue
        loglik = next((t for t in tuned if t.variant.scoring == "mc_loglik" and _same_prompt(t, run)), None)
        if loglik is None:
            continue
        lost = [y["id"] for x, y in _paired(base[i], run) if x["correct"] and not y["correct"]]
        ranked = {r["id"]: r["correct"] for r in loglik.responses}
        still = sum(bool(ranked.get(k)) for k in lost)
        rows.append({
            "id": run.spec.id, "variant": run.variant.label, "scoring": run.variant.scoring,
            "lost": len(lost), "still_known": still, "forgotten": len(lost) - still,
        })
    return rows


def compare_runs(base_runs: list[EvalRun], tuned_runs: list[EvalRun], seed: int = 0) -> dict[str, Any]:
    """Compare run i of the base with run i of the tuned side (same benchmark, items paired by id).

    `tuner ablate` pairs identical variants of two models; a study may pair two prompt variants
    of one model (plain vs persona) the same way."""
    if len(base_runs) != len(tuned_runs):
        raise UserError("the two result sets cover different benchmarks or variants; evaluate both on the same suite and variants")
    benchmarks = []
    for rb, rt in zip(base_runs, tuned_runs, strict=True):
        pairs = _paired(rb, rt)
        cats = sorted({x["category"] for x, _ in pairs})
        label = rb.variant.label if rb.variant.label == rt.variant.label else f"{rb.variant.label} → {rt.variant.label}"
        benchmarks.append({
            "id": rb.spec.id, "version": rb.spec.version, "variant": rt.variant.name, "label": label,
            "lang": rt.variant.lang, "scoring": rt.variant.scoring, "metric": rb.spec.metric,
            **compare_pairs(pairs, seed),
            "by_category": {c: compare_pairs([p for p in pairs if p[0]["category"] == c], seed) for c in cats},
        })
    return {"benchmarks": benchmarks, "recall_vs_retention": recall_vs_retention(base_runs, tuned_runs), "bootstrap": {"resamples": N_BOOT, "seed": seed}}


def compare(base: EvalResult, tuned: EvalResult, seed: int = 0) -> dict[str, Any]:
    """Two models on identical benchmarks and variants."""
    if [(r.spec.id, r.variant.name) for r in base.runs] != [(r.spec.id, r.variant.name) for r in tuned.runs]:
        raise UserError("the two result sets cover different benchmarks or variants; evaluate both on the same suite and variants")
    return compare_runs(base.runs, tuned.runs, seed)
