"""`ablate(base, tuned)`: both models on the same suite and variants, compared item by item.

check that the tuned model was trained on this base → evaluate both (the store answers what was
scored before) → paired comparison → report folder (report.md, report.json, figures, report.html).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tuner.ablate.compare import compare
from tuner.errors import UserError
from tuner.evals.evaluate import EvalResult, evaluate, model_fingerprint
from tuner.evals.sharding import Shards
from tuner.evals.spec import BenchmarkSpec, load_suite
from tuner.evals.store import ResultStore
from tuner.models import ModelRef, resolve

DEFAULT_SUITE = "recall_and_control"


def trained_on(ref: ModelRef) -> str | None:
    """The base a tuned model was trained on: an adapter's base, or a tuner run's recorded base."""
    if ref.adapter is not None:
        return ref.base_ref
    run = Path(ref.ref) / "run.json"
    if run.is_file():
        return json.loads(run.read_text()).get("base_ref")
    return None


def check_base(base: ModelRef, tuned: ModelRef, store: ResultStore, force: bool) -> None:
    """Stop when the tuned model was trained on another base (by reference or by fingerprint)."""
    recorded = trained_on(tuned)
    if recorded is None or force:
        return
    if recorded in (base.ref, base.base_ref) or (base.adapter is None and Path(base.base).resolve() == Path(tuned.base).resolve()):
        return
    if tuned.adapter is not None:
        origin = resolve(tuned.base)
        if model_fingerprint(origin, store) == model_fingerprint(base, store):
            return
    raise UserError(
        f"--tuned {tuned.ref} was trained on '{recorded}', not on --base {base.ref}; "
        "pass its base as --base, or --force to compare anyway"
    )


def expand_variants(templates: list[str], spec: BenchmarkSpec) -> list[str]:
    """`{lang}` in a variant template stands for each language of the benchmark, in order, and
    `{persona}` for each persona of its own persona file (the VSM's 20 countries)."""
    personas = list(spec.persona_texts())
    out = []
    for template in templates:
        for lang in spec.languages if "{lang}" in template else [None]:
            for persona in personas if "{persona}" in template else [None]:
                out.append(template.format(lang=lang, persona=persona))
    return out


Variants = list[str] | dict[str, list[str]] | None  # one list for every benchmark, or per benchmark id


def variants_for(variants: Variants, spec: BenchmarkSpec) -> list[str]:
    """The variant templates a benchmark is asked in, expanded; a dict without the benchmark falls
    back to its comparison defaults."""
    chosen = variants.get(spec.id) if isinstance(variants, dict) else variants
    return expand_variants(chosen, spec) if chosen else comparison_variants(spec)


def comparison_variants(spec: BenchmarkSpec) -> list[str]:
    """A benchmark's own default variants; a log-likelihood benchmark also gets each one's
    letter-scored twin: log-likelihood says what the weights hold, the letter what the model says,
    and recall vs retention needs both."""
    own = spec.default_variants()
    if spec.scoring != "mc_loglik":
        return own
    return [x for v in own for x in (v, f"{v}+scoring=mc_letter")]


def evaluate_each(model: str, specs: list[BenchmarkSpec], variants: Variants, store: ResultStore, progress: bool = True) -> EvalResult:
    """One model on every spec, each in its variants (see `variants_for`), merged into one result."""
    results = [evaluate(model, [s], variants_for(variants, s), store, progress=progress) for s in specs]
    first = results[0]
    return EvalResult(
        first.model, first.fingerprint, [r for res in results for r in res.runs],
        {k: round(sum(res.timing.get(k, 0) for res in results), 3) for k in ("wall_s", "scoring_s", "items_scored")},
        sum(res.forward_calls for res in results),
    )


@dataclass
class Ablation:
    report: dict[str, Any]
    base: EvalResult
    tuned: EvalResult
    wall_s: float


def ablate(
    base: str,
    tuned: str,
    suite: str = DEFAULT_SUITE,
    variants: list[str] | None = None,
    store: ResultStore | None = None,
    force: bool = False,
    seed: int = 0,
    progress: bool = True,
) -> Ablation | None:
    """The comparison on the main process; None on the other ranks of a launch."""
    from tuner.train.trainer import library_versions

    started = time.perf_counter()
    store = store or ResultStore()
    base_ref, tuned_ref = resolve(base), resolve(tuned)
    check_base(base_ref, tuned_ref, store, force)
    specs = load_suite(suite)
    rb, rt = (evaluate_each(name, specs, variants, store, progress) for name in (base, tuned))
    if not Shards().main:
        return None  # the other ranks of a launch only score; rank 0 compares and reports
    report = compare(rb, rt, seed)
    report["meta"] = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "suite": suite,
        "base": {"ref": base, "fingerprint": rb.fingerprint, "trained_on": None},
        "tuned": {"ref": tuned, "fingerprint": rt.fingerprint, "trained_on": trained_on(tuned_ref), "recipe": _recipe_of(tuned_ref)},
        "specs": [{"id": s.id, "version": s.version, "prompt_hash": s.prompt_hash(), "source": s.source.model_dump()} for s in specs],
        "versions": library_versions(),
        "forward_calls": rb.forward_calls + rt.forward_calls,
        "items_scored": rb.timing["items_scored"] + rt.timing["items_scored"],
    }
    return Ablation(report, rb, rt, round(time.perf_counter() - started, 2))


def _recipe_of(ref: ModelRef) -> str | None:
    path = Path(ref.ref) / "recipe.yaml"
    return path.read_text(encoding="utf-8") if path.is_file() else None
