"""The comparison report: report.json (the numbers), report.md and report.html (the same numbers,
formatted from the JSON so they cannot disagree), and PNG figures."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any

ALPHA = 0.05


def pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def signed_pp(x: float) -> str:
    return f"{100 * x:+.1f} pp"


def pvalue(p: float) -> str:
    return "<0.001" if p < 0.001 else f"{p:.3f}"


BIASED = 0.9  # one option chosen for more than this share of items: accuracy says little


def verdict(b: dict[str, Any]) -> str:
    """One honest phrase: a change is called significant only when McNemar's p < 0.05, and accuracy
    from a model that picks one option almost always is flagged as uninformative."""
    if not b.get("n"):
        return "no items"
    d = b["delta"]
    text = (
        f"no significant change (p={pvalue(b['mcnemar_p'])})" if b["mcnemar_p"] >= ALPHA
        else f"significant {'drop' if d['mean'] < 0 else 'rise'} (p={pvalue(b['mcnemar_p'])})"
    )
    biased = [side for side in ("base", "tuned") if b[side].get("top_prediction_share", 0) > BIASED]
    if biased:
        shares = ", ".join(f"{side} {pct(b[side]['top_prediction_share'])}" for side in biased)
        text += f"; position bias: one option chosen for {shares} of items, so this accuracy is uninformative"
    return text


def headline_rows(report: dict[str, Any]) -> list[list[str]]:
    rows = []
    for b in report["benchmarks"]:
        if not b.get("n"):
            continue
        led, d = b["ledger"], b["delta"]
        margin = b.get("margin_change")
        rows.append([
            b["id"], b["label"], b["scoring"], str(b["n"]),
            f"{pct(b['base']['accuracy'])} [{pct(b['base']['ci_low'])}, {pct(b['base']['ci_high'])}]",
            f"{pct(b['tuned']['accuracy'])} [{pct(b['tuned']['ci_low'])}, {pct(b['tuned']['ci_high'])}]",
            f"{signed_pp(d['mean'])} [{signed_pp(d['ci_low'])}, {signed_pp(d['ci_high'])}]",
            f"{led['retained']}/{led['lost']}/{led['gained']}/{led['never']}", f"{led['net']:+d}", pct(led["forgetting"]),
            pvalue(b["mcnemar_p"]),
            f"{margin['mean']:+.3f} [{margin['ci_low']:+.3f}, {margin['ci_high']:+.3f}]" if margin else "–",
        ])
    return rows


HEADLINE = ["benchmark", "variant", "scoring", "n", "base acc [95% CI]", "tuned acc [95% CI]", "Δ acc [95% CI]",
            "retained/lost/gained/never", "net", "forgetting", "McNemar p", "Δ margin [95% CI]"]


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def render_markdown(report: dict[str, Any], figures: list[Path]) -> str:
    meta = report["meta"]
    out = [
        f"# Ablation: {meta['tuned']['ref']} vs {meta['base']['ref']}",
        "",
        f"Suite `{meta['suite']}`; base fingerprint `{meta['base']['fingerprint']}`, tuned fingerprint "
        f"`{meta['tuned']['fingerprint']}`; created {meta['created']}. Accuracy CIs are 95% Wilson intervals; "
        f"Δ CIs are paired bootstrap percentiles ({report['bootstrap']['resamples']} resamples, seed "
        f"{report['bootstrap']['seed']}); McNemar p is the exact two-sided test on lost vs gained items. "
        "Margin = log-prob of the right choice minus the best wrong one (more sensitive than accuracy).",
        "",
        "## Knowledge lost and gained",
        "",
        markdown_table(HEADLINE, headline_rows(report)),
        "",
    ]
    for b in report["benchmarks"]:
        if b.get("n"):
            out.append(f"- **{b['id']} [{b['label']}, {b['scoring']}]**: {verdict(b)}; Δ {signed_pp(b['delta']['mean'])}.")
    rvr = report["recall_vs_retention"]
    if rvr:
        out += [
            "",
            "## Recall vs retention",
            "",
            "Items lost under letter choice (or generation): does the tuned model's log-likelihood still rank the "
            "right answer first? *Still known* = knowledge still in the weights but no longer recalled.",
            "",
            markdown_table(["benchmark", "variant", "scoring", "lost", "still known", "forgotten"],
                           [[r["id"], r["variant"], r["scoring"], str(r["lost"]), str(r["still_known"]), str(r["forgotten"])] for r in rvr]),
        ]
    values = report.get("values") or []
    if values:
        out += ["", "## Values: distance to India and the USA", "", *values_section(values, "base", "tuned")]
    out += ["", "## By category", ""]
    for b in report["benchmarks"]:
        cats = b.get("by_category", {})
        if len(cats) < 2:
            continue
        rows = [
            [c, str(v["n"]), pct(v["base"]["accuracy"]), pct(v["tuned"]["accuracy"]),
             f"{signed_pp(v['delta']['mean'])} [{signed_pp(v['delta']['ci_low'])}, {signed_pp(v['delta']['ci_high'])}]",
             f"{v['ledger']['lost']}/{v['ledger']['gained']}", pvalue(v["mcnemar_p"])]
            for c, v in cats.items() if v.get("n")
        ]
        out += [f"### {b['id']} [{b['label']}, {b['scoring']}]", "",
                markdown_table(["category", "n", "base", "tuned", "Δ [95% CI]", "lost/gained", "McNemar p"], rows), ""]
    if figures:
        out += ["## Figures", ""] + [f"![{f.stem}]({f.name})" for f in figures]
    v = meta["versions"]
    out += ["", "## Reproducibility", "", "Versions: " + ", ".join(f"{k} {val}" for k, val in v.items()) + ".",
            "Benchmarks: " + ", ".join(f"{s['id']} v{s['version']} (prompt {s['prompt_hash']})" for s in meta["specs"]) + "."]
    if meta["tuned"].get("recipe"):
        out += ["", "Tuned model's resolved recipe:", "", "```yaml", meta["tuned"]["recipe"].rstrip(), "```"]
    return "\n".join(out) + "\n"


def figures(report: dict[str, Any], base_items: dict[str, list[dict]], tuned_items: dict[str, list[dict]], out: Path) -> list[Path]:
    """Lost/gained bars, margin-change distribution, accuracy by language and category."""
    from tuner.report.plots import pyplot

    plt = pyplot()

    written: list[Path] = []
    rows = [b for b in report["benchmarks"] if b.get("n")]
    if not rows:  # questionnaires only: nothing was right or wrong
        return written
    labels = [f"{b['id']}\n{b['label']} {b['scoring'].replace('mc_', '')}" for b in rows]

    fig, ax = plt.subplots(figsize=(max(6, 1.3 * len(rows)), 4.2))
    x = range(len(rows))
    ax.bar([i - 0.2 for i in x], [-b["ledger"]["lost"] for b in rows], width=0.4, color="#c0392b", label="lost (base right, tuned wrong)")
    ax.bar([i + 0.2 for i in x], [b["ledger"]["gained"] for b in rows], width=0.4, color="#27ae60", label="gained (base wrong, tuned right)")
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xticks(list(x), labels, fontsize=8)
    ax.set_ylabel("items")
    ax.set_title("Knowledge lost and gained per benchmark")
    ax.legend(fontsize=8)
    fig.tight_layout()
    written.append(_save(fig, out / "lost_gained.png"))

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for key, b in zip(labels, rows):
        k = f"{b['id']}|{b['variant']}"
        bm = {r["item"]: r.get("margin") for r in base_items.get(k, [])}
        changes = [r["margin"] - bm[r["item"]] for r in tuned_items.get(k, []) if r.get("margin") is not None and bm.get(r["item"]) is not None]
        if changes:
            ax.hist(changes, bins=30, histtype="step", linewidth=1.5, label=key.replace("\n", " "))
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel("change of the correct-answer margin (tuned − base, log-prob)")
    ax.set_ylabel("items")
    ax.set_title("Margin change per item")
    ax.legend(fontsize=7)
    fig.tight_layout()
    written.append(_save(fig, out / "margin_change.png"))

    for b in rows:
        cats = {c: v for c, v in b.get("by_category", {}).items() if v.get("n")}
        if len(cats) < 2:
            continue
        fig, ax = plt.subplots(figsize=(max(6, 0.7 * len(cats)), 4))
        names = list(cats)
        xs = range(len(names))
        ax.bar([i - 0.2 for i in xs], [cats[c]["base"]["accuracy"] for c in names], width=0.4, label="base")
        ax.bar([i + 0.2 for i in xs], [cats[c]["tuned"]["accuracy"] for c in names], width=0.4, label="tuned")
        ax.set_xticks(list(xs), names, rotation=35, ha="right", fontsize=8)
        ax.set_ylim(0, 1)
        ax.set_ylabel("accuracy")
        ax.set_title(f"{b['id']} [{b['label']}, {b['scoring']}] by category")
        ax.legend(fontsize=8)
        fig.tight_layout()
        written.append(_save(fig, out / f"categories_{b['id']}_{b['variant'].replace('+', '_').replace('=', '-')}.png"))
    return written


def _save(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def render_html(markdown_text: str, figs: list[Path], title: str) -> str:
    """A self-contained page: the markdown shown as preformatted text, figures embedded as data URIs."""
    images = "".join(
        f'<figure><img alt="{f.stem}" src="data:image/png;base64,{base64.b64encode(f.read_bytes()).decode()}"/></figure>' for f in figs
    )
    body = html.escape(markdown_text.split("## Figures")[0])
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;max-width:1200px;margin:2em auto}pre{white-space:pre-wrap;font-size:13px}"
        "img{max-width:100%}</style></head>"
        f"<body><pre>{body}</pre>{images}</body></html>"
    )


def write_report(report: dict[str, Any], base_items: dict[str, list[dict]], tuned_items: dict[str, list[dict]], out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    figs = figures(report, base_items, tuned_items, out)
    if (out / "iw_map_both.png").is_file():  # written by value_changes when a projection placed the models
        figs.append(out / "iw_map_both.png")
    md = render_markdown(report, figs)
    (out / "report.md").write_text(md, encoding="utf-8")
    (out / "report.html").write_text(render_html(md, figs, f"{report['meta']['tuned']['ref']} vs {report['meta']['base']['ref']}"), encoding="utf-8")
    return out / "report.md"


def values_section(values: list[dict[str, Any]], reference: str, arm: str) -> list[str]:
    """The value-distance rows of a comparison (`ablate.values.value_changes`) as markdown lines."""
    return [
        "Smaller is closer. VSM: the mean absolute difference between the model's six indices (under "
        "that country's persona) and the country's published scores, with the alignment ratio of "
        f"arXiv 2504.08863 (higher is closer); each side's full tables are in {reference}/ and {arm}/.",
        "",
        markdown_table(
            ["benchmark", "language", "country", "measure", reference, arm, "change", f"ratio {reference} → {arm}"],
            [[v["benchmark"], v["lang"], v["country"], v["measure"], f"{v['base']:.2f}", f"{v['tuned']:.2f}", f"{v['change']:+.2f}",
              f"{v['ratio_base']:.2f} → {v['ratio_tuned']:.2f}" if "ratio_base" in v else "–"] for v in values],
        ),
    ]
