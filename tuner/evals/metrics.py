"""Metrics over per-item responses: pure functions, empty input guarded."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

Z95 = 1.959963984540054  # two-sided 95% normal quantile


@dataclass
class Accuracy:
    n: int
    correct: int
    accuracy: float | None
    ci_low: float | None
    ci_high: float | None
    unparsed: int = 0  # generate: answers no parser could read (counted wrong)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def wilson_interval(correct: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval: honest near 0 and 1 and for small n, unlike the normal approximation."""
    if n == 0:
        raise ValueError("no items")
    p = correct / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def accuracy(responses: Iterable[dict[str, Any]]) -> Accuracy:
    scored = [r for r in responses if r.get("correct") is not None]
    n, correct = len(scored), sum(bool(r["correct"]) for r in scored)
    unparsed = sum(r.get("pred") is None for r in scored)
    if n == 0:
        return Accuracy(0, 0, None, None, None, unparsed)
    low, high = wilson_interval(correct, n)
    return Accuracy(n, correct, correct / n, low, high, unparsed)


def grouped(responses: list[dict[str, Any]], key: Callable[[dict[str, Any]], str]) -> dict[str, Accuracy]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in responses:
        groups.setdefault(key(r), []).append(r)
    return {k: accuracy(v) for k, v in sorted(groups.items())}
