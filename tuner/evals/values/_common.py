"""Reading a model's answer to a questionnaire item out of stored Responses.

A values item has no right answer: what the model "says" is its probability distribution over the
options (`scores.prob`, renormalised over the option letters by `respond()`). Option k (0-based)
stands for the scale point or code k + 1, so the expected answer is sum((k + 1) * p_k) and the
argmax answer is the most probable option's point. Both questionnaires (VSM, IW map) read them here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from tuner.errors import UserError

How = Literal["expected", "argmax"]


def option_probs(responses: Iterable[dict[str, Any]], n_options: dict[str, int] | None = None) -> dict[str, list[float]]:
    """Item id -> option probabilities, from the Responses of ONE variant (one language, one persona).

    `n_options` (item id -> number of scale points) checks that each item was asked with its full
    scale: a distribution over the wrong number of options would give an answer on the wrong scale.
    """
    probs: dict[str, list[float]] = {}
    for r in responses:
        scores = r.get("scores") or {}
        p = scores.get("prob")
        if not isinstance(p, list) or len(p) < 2:
            raise UserError(
                f"response '{r.get('item')}': no option probabilities (scoring '{r.get('scoring')}'); "
                "ask values items with scoring: distribution"
            )
        if r["id"] in probs:
            raise UserError(
                f"response '{r.get('item')}': item '{r['id']}' appears twice; pass the responses of one variant "
                "(one language and persona) at a time"
            )
        if n_options is not None and r["id"] in n_options and len(p) != n_options[r["id"]]:
            raise UserError(f"response '{r.get('item')}': {len(p)} option probabilities, the item's scale has {n_options[r['id']]}")
        total = sum(p)
        probs[r["id"]] = [x / total for x in p]  # already renormalised; guards against rounding in the store
    return probs


def point(probs: list[float], how: How) -> float:
    """The answer on the 1..k scale: expected value under `probs`, or the most probable point."""
    if how == "expected":
        return sum((k + 1) * p for k, p in enumerate(probs))
    return float(max(range(len(probs)), key=probs.__getitem__) + 1)
