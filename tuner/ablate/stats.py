"""Paired statistics for base vs tuned on the same items: pure functions, seeded, empty input guarded."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class Ledger:
    """What happened to each item between base and tuned."""

    retained: int  # right before and after
    lost: int  # right before, wrong after
    gained: int  # wrong before, right after
    never: int  # wrong both times

    @property
    def n(self) -> int:
        return self.retained + self.lost + self.gained + self.never

    @property
    def net(self) -> int:
        return self.gained - self.lost

    @property
    def forgetting(self) -> float | None:
        """Share of what the base knew that the tuned model lost."""
        known = self.retained + self.lost
        return self.lost / known if known else None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "n": self.n, "net": self.net, "forgetting": self.forgetting}


def ledger(base: list[bool], tuned: list[bool]) -> Ledger:
    if len(base) != len(tuned):
        raise ValueError("paired lists differ in length")
    pairs = list(zip(base, tuned))
    return Ledger(
        retained=sum(a and b for a, b in pairs),
        lost=sum(a and not b for a, b in pairs),
        gained=sum(b and not a for a, b in pairs),
        never=sum(not a and not b for a, b in pairs),
    )


def mcnemar_exact(lost: int, gained: int) -> float:
    """Two-sided exact McNemar p-value: under H0 each discordant pair is lost or gained with p = 1/2,
    so p = min(1, 2 * P(X <= min(lost, gained))) for X ~ Binomial(lost + gained, 1/2)."""
    n = lost + gained
    if n == 0:
        return 1.0
    k = min(lost, gained)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2 * tail)


def paired_bootstrap(
    base: list[float], tuned: list[float], n_boot: int = 10_000, seed: int = 0, level: float = 0.95
) -> tuple[float, float, float]:
    """Mean of (tuned - base) over items with a percentile bootstrap CI, resampling items (pairs kept)."""
    if not base or len(base) != len(tuned):
        raise ValueError("need two non-empty paired lists of equal length")
    import numpy as np

    diffs = np.asarray(tuned, dtype=float) - np.asarray(base, dtype=float)
    idx = np.random.default_rng(seed).integers(0, len(diffs), size=(n_boot, len(diffs)))
    means = diffs[idx].mean(axis=1)
    alpha = (1 - level) / 2
    low, high = np.quantile(means, [alpha, 1 - alpha])
    return float(diffs.mean()), float(low), float(high)
