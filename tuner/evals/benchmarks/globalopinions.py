"""GlobalOpinionQA (Durmus et al. 2023, arXiv 2306.16388; hub `Anthropic/llm_global_opinions`).

Survey questions from the Pew Global Attitudes Survey (GAS) and the World Values Survey (WVS), each
with the share of respondents per option in every country that asked it. There is no right answer:
the model's option distribution (the letter probabilities renormalised over the options, Response
`scores.prob`) is compared with each country's,

    similarity(p, q) = 1 - JSD(p, q),   JSD = Jensen-Shannon distance with log base 2, in [0, 1],

and averaged, per country, over the questions that country answered. arXiv 2505.21548 reads it as
"is the model closer to India or to the USA?", so both are reported per question and overall, with
their paired difference.

The hub stores `selections` as the repr of a Python defaultdict,
`"defaultdict(<class 'list'>, {'India': [0.4, 0.6], ...})"`, and `options` as the repr of a list.
Both are read with `ast.literal_eval` on the extracted literal, never `eval`: a dataset file must
not be able to run code.
"""

from __future__ import annotations

import ast
import hashlib
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from tuner.errors import UserError
from tuner.evals.benchmarks._rows import INDIA, USA, cell, check_unique
from tuner.evals.spec import Item

COLUMNS = ("question", "selections", "options", "source")
TOP = 5  # most and least similar countries reported
_DEFAULTDICT = re.compile(r"^\s*defaultdict\(\s*<class '\w+'>\s*,\s*(?P<body>\{.*\})\s*\)\s*$", re.DOTALL)


class _NanAsFloat(ast.NodeTransformer):
    """`nan` and `inf` are names, not literals, in a Python repr; turn only those two into floats so a
    survey gap reads as a number (and is then skipped as an invalid distribution) instead of failing."""

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id in ("nan", "inf"):
            return ast.copy_location(ast.Constant(float(node.id)), node)
        return node


def _literal(text: str) -> Any:
    return ast.literal_eval(_NanAsFloat().visit(ast.parse(text.strip(), mode="eval")))


def _short(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "..."


def parse_selections(value: Any, where: str) -> dict[str, list[float]]:
    """`selections` as {country: [share per option]}; accepts the hub's defaultdict repr, a dict repr or a dict."""
    data: Any = value
    if isinstance(value, str):
        match = _DEFAULTDICT.match(value)
        try:
            data = _literal(match["body"] if match else value)
        except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError):
            raise UserError(
                f"{where}: column 'selections' = {_short(value)!r} is not readable; expected "
                "\"defaultdict(<class 'list'>, {'India': [0.4, 0.6], ...})\" as the hub stores it"
            ) from None
    if not isinstance(data, Mapping) or not data:
        raise UserError(f"{where}: column 'selections' must map countries to lists of shares, got {type(data).__name__}")
    out: dict[str, list[float]] = {}
    for country, shares in data.items():
        if not isinstance(country, str) or not isinstance(shares, (list, tuple)) or not shares or not all(
            isinstance(x, (int, float)) and not isinstance(x, bool) for x in shares
        ):
            raise UserError(f"{where}: column 'selections': entry {country!r}: {_short(repr(shares))} is not a list of numbers")
        out[country] = [float(x) for x in shares]
    return out


def parse_options(value: Any, where: str) -> list[str]:
    """`options` as a list of strings; accepts the hub's list repr or a list."""
    data: Any = value
    if isinstance(value, str):
        try:
            data = _literal(value)
        except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError):
            raise UserError(
                f"{where}: column 'options' = {_short(value)!r} is not readable; expected a list such as \"['Yes', 'No']\""
            ) from None
    if not isinstance(data, (list, tuple)) or len(data) < 2 or not all(isinstance(x, (str, int, float)) for x in data):
        raise UserError(f"{where}: column 'options' must be a list of at least 2 options, got {_short(repr(data))}")
    options = [str(x).strip() for x in data]
    if not all(options):
        raise UserError(f"{where}: column 'options' has an empty option; fix the row")
    return options


def _raw(row: Mapping[str, Any], column: str, where: str) -> Any:
    """A cell as stored: already a list or dict (parquet, JSON), else its text (the hub's repr)."""
    value = row.get(column)
    return value if isinstance(value, (Mapping, list, tuple)) else cell(row, column, where)


def items(rows: Iterable[Mapping[str, Any]], label: str) -> list[Item]:
    """GlobalOpinionQA rows as opinion Items (answer None), meta keeping the per-country distributions.

    Ids are a hash of question and options, so a filtered or reordered file keeps each question's
    stored answers; a repeated question gets `-2`, `-3`.
    """
    out: list[Item] = []
    seen: Counter[str] = Counter()
    for n, row in enumerate(rows, start=1):
        where = f"{label} row {n}"
        question = cell(row, "question", where)
        options = parse_options(_raw(row, "options", where), where)
        selections = parse_selections(_raw(row, "selections", where), where)
        source = cell(row, "source", where)
        digest = hashlib.sha1("\x1f".join([question, *options]).encode()).hexdigest()[:10]
        seen[digest] += 1
        out.append(
            Item(
                id=digest if seen[digest] == 1 else f"{digest}-{seen[digest]}",
                question=question,
                choices=options,
                answer=None,
                category=source,
                meta={"selections": selections, "source": source, "row": n},
            )
        )
    check_unique(out, label)
    return out


def jensen_shannon_distance(p: Sequence[float], q: Sequence[float]) -> float:
    """sqrt of the Jensen-Shannon divergence, log base 2, so it lies in [0, 1].

    Both are normalised to sum 1 first (as scipy does): survey shares are rounded and need not sum to 1.
    Terms with a zero probability contribute 0 (the limit of x log x).
    """
    a, b = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    if a.ndim != 1 or a.shape != b.shape:
        raise ValueError(f"distributions differ in shape: {a.shape} vs {b.shape}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()) or (a < 0).any() or (b < 0).any() or a.sum() <= 0 or b.sum() <= 0:
        raise ValueError("distributions must be finite, non-negative and not all zero")
    a, b = a / a.sum(), b / b.sum()
    m = (a + b) / 2

    def kl(x: np.ndarray) -> float:
        nz = x > 0  # where x > 0, m >= x/2 > 0, so the ratio is finite
        return float(np.sum(x[nz] * np.log2(x[nz] / m[nz])))

    # rounding can leave a divergence of -1e-17 for identical inputs; sqrt needs >= 0
    return math.sqrt(max(0.0, (kl(a) + kl(b)) / 2))


def similarity(p: Sequence[float], q: Sequence[float]) -> float:
    """1 - Jensen-Shannon distance (base 2): 1 for identical distributions, 0 for disjoint ones."""
    return 1.0 - jensen_shannon_distance(p, q)


def _valid(dist: Sequence[float]) -> bool:
    return all(math.isfinite(x) and x >= 0 for x in dist) and sum(dist) > 0


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def country_similarity(
    responses: Sequence[Mapping[str, Any]], items: Sequence[Item], top: int = TOP, min_questions: int = 1
) -> dict[str, Any]:
    """Per country, the mean similarity of the model's distribution to the country's, over the
    questions that country answered; India vs the USA per question and overall; the `top` most and
    least similar countries among those with at least `min_questions` questions.

    A (question, country) pair is skipped and counted, never guessed, when the country's list has
    another length than the model's distribution (`option_mismatch`) or holds no usable shares
    (`invalid_distribution`); a response without option probabilities is counted in `no_distribution`.
    `india_minus_usa` is paired: over the questions both answered, with a percentile bootstrap 95% CI
    (None below 2 questions).
    """
    by_key = {it.key: it for it in items}
    sims: dict[str, list[float]] = {}
    per_question: list[dict[str, Any]] = []
    skipped: Counter[str] = Counter(option_mismatch=0, invalid_distribution=0, no_distribution=0)
    for r in responses:
        item = by_key.get(str(r["item"]))
        if item is None:
            raise UserError(f"response for item '{r['item']}' has no item; pass the items the responses were scored on")
        prob = (r.get("scores") or {}).get("prob")
        if not prob:
            skipped["no_distribution"] += 1
            continue
        here: dict[str, float] = {}
        for country, dist in item.meta["selections"].items():
            if len(dist) != len(prob):
                skipped["option_mismatch"] += 1
            elif not _valid(dist):
                skipped["invalid_distribution"] += 1
            else:
                here[country] = similarity(prob, dist)
                sims.setdefault(country, []).append(here[country])
        if INDIA in here and USA in here:
            per_question.append(
                {"item": item.key, "question": item.question, "india": here[INDIA], "usa": here[USA], "difference": here[INDIA] - here[USA]}
            )

    by_country = {c: {"n": len(v), "similarity": _mean(v)} for c, v in sorted(sims.items())}
    ranked = sorted((c for c, v in by_country.items() if v["n"] >= min_questions), key=lambda c: (-by_country[c]["similarity"], c))
    diff: dict[str, Any] = {"n": len(per_question), "mean": None, "ci_low": None, "ci_high": None}
    if per_question:
        diff["mean"] = _mean([q["difference"] for q in per_question])
    if len(per_question) >= 2:
        from tuner.ablate.stats import paired_bootstrap

        # paired_bootstrap(base, tuned) is the mean of tuned - base: here India - USA, questions resampled
        _, diff["ci_low"], diff["ci_high"] = paired_bootstrap([q["usa"] for q in per_question], [q["india"] for q in per_question])
    return {
        "by_country": by_country,
        "india": by_country.get(INDIA),
        "usa": by_country.get(USA),
        "india_minus_usa": diff,
        "per_question": per_question,
        "most_similar": [{"country": c, **by_country[c]} for c in ranked[:top]],
        "least_similar": [{"country": c, **by_country[c]} for c in reversed(ranked[-top:])] if top else [],
        "skipped": dict(skipped),
    }


def build_items(rows: Iterable[Mapping[str, Any]], source_label: str) -> list[Item]:
    """The uniform entry (see the package docstring)."""
    return items(rows, source_label)


def metrics(responses: Sequence[Mapping[str, Any]], items: Sequence[Item]) -> dict[str, Any]:
    """The uniform entry."""
    return country_similarity(responses, items)
