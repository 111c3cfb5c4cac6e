"""Value benchmarks in a comparison: how far each model sits from India's and the USA's human scores.

Questionnaires have no right answers, so the ledger does not apply; what moves is the distance to a
country's published values. VSM: the model's mean absolute deviation from the country over the six
indices (and the alignment ratio of arXiv 2504.08863). IW map: the Euclidean distance on the map,
when a projection is fitted. Each model's own summary files go to base/ and tuned/ in the report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tuner.evals.evaluate import EvalResult, summaries

FOCUS = {"india": "India", "usa": "United States"}  # VSM persona -> IW reference name


def _language_pairs(base: list[str], tuned: list[str]) -> list[tuple[str, str]]:
    """Same language on both sides; or, when each side asked one language (a prompt-language
    comparison), that pair."""
    shared = [lang for lang in base if lang in tuned]
    if shared:
        return [(lang, lang) for lang in shared]
    return [(base[0], tuned[0])] if len(base) == 1 and len(tuned) == 1 else []


def value_changes(
    base: EvalResult, tuned: EvalResult, out: Path, names: tuple[str, str] = ("base", "tuned")
) -> list[dict[str, Any]]:
    """One row per value benchmark, prompt language and focus country: base, tuned, change.
    Each side's summary files go to out/NAME/."""
    sides = {}
    for key, name, result in (("base", names[0], base), ("tuned", names[1], tuned)):
        (out / name).mkdir(parents=True, exist_ok=True)
        sides[key] = summaries(result, out / name)
    rows: list[dict[str, Any]] = []
    for bench, b in sides["base"].items():
        t = sides["tuned"].get(bench)
        if t is None:
            continue
        if "expected" in b:  # VSM, from expected answers
            for lang, tuned_lang in _language_pairs(list(b["expected"]), list(t["expected"])):
                tuned_by = {c["persona"]: c for c in t["expected"][tuned_lang]["countries"]}
                for c in b["expected"][lang]["countries"]:
                    if c["persona"] in FOCUS and c["persona"] in tuned_by:
                        before, after = c["alignment"], tuned_by[c["persona"]]["alignment"]
                        rows.append({
                            "benchmark": bench, "lang": lang if lang == tuned_lang else f"{lang} → {tuned_lang}",
                            "country": c["name"], "measure": "mean abs. deviation (index points)",
                            "base": before["model_deviation"], "tuned": after["model_deviation"],
                            "change": after["model_deviation"] - before["model_deviation"],
                            "ratio_base": before["ratio"], "ratio_tuned": after["ratio"],
                        })
        if "map" in b:  # IW map: only models a fitted projection could place
            both_on_map(b, t, names, out / "iw_map_both.png")
            for variant, entry in b["variants"].items():
                after = t["variants"].get(variant, {})
                for country, dist in entry.get("distances", {}).items():
                    if country in after.get("distances", {}):
                        rows.append({
                            "benchmark": bench, "lang": variant, "country": country, "measure": "distance on the map",
                            "base": dist, "tuned": after["distances"][country], "change": after["distances"][country] - dist,
                        })
    return rows


def both_on_map(base: dict[str, Any], tuned: dict[str, Any], names: tuple[str, str], out: Path) -> Path | None:
    """Both models' points (per variant) on one Inglehart-Welzel map; None when neither was placed."""
    from tuner.evals.values.iw_map import MapPoint, plot_map, reference_points

    points = {
        f"{name} [{variant}]": MapPoint(**entry["point"])
        for name, summary in zip(names, (base, tuned), strict=True)
        for variant, entry in summary["variants"].items()
        if "point" in entry
    }
    return plot_map(points, reference_points(), out) if points else None
