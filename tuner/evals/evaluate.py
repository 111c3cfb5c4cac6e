"""`evaluate(model, specs)`: score a model on benchmarks, resumably. Read it top to bottom:

resolve the model and fingerprint it → per benchmark and variant: load items, look up the store,
score only what is missing (chunk by chunk, each chunk committed) → metrics with CIs → results.json,
per-item items.jsonl, and the terminal table. The model is loaded only if something is missing.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tuner.evals.engine import Scorer, parse_answer
from tuner.evals.loaders import load_items
from tuner.evals.metrics import accuracy, grouped
from tuner.evals.prompts import Prompt, Variant, build_prompt, pick_shots, prompt_key
from tuner.evals.sharding import Shards
from tuner.evals.spec import BenchmarkSpec, Item
from tuner.evals.store import ResultStore
from tuner.models import ModelRef, files_signature, fingerprint, model_files, resolve

CHUNK = 64  # items scored and committed together: the most an interruption can lose


@dataclass
class EvalRun:
    """Per (benchmark, variant): the responses in item order and their metrics."""

    spec: BenchmarkSpec
    variant: Variant
    items: list[Item]
    responses: list[dict[str, Any]]
    scored_now: int

    def metrics(self) -> dict[str, Any]:
        out = {
            "overall": accuracy(self.responses).as_dict(),
            "by_category": {k: v.as_dict() for k, v in grouped(self.responses, lambda r: r["category"]).items()},
        }
        metric = getattr(self.spec.benchmark_module(), "metrics", None)
        if metric is not None:  # the benchmark's published metric (all-four rule, JS similarity, ...)
            out["benchmark_metrics"] = metric(self.responses, self.items)
        return out


@dataclass
class EvalResult:
    model: ModelRef
    fingerprint: str
    runs: list[EvalRun]
    timing: dict[str, float] = field(default_factory=dict)
    forward_calls: int = 0


def model_fingerprint(ref: ModelRef, store: ResultStore) -> str:
    """Content hash of the model files, memoised by their paths, sizes and mtimes."""
    files = model_files(ref)
    signature = files_signature(files)
    cached = store.cached_fingerprint(ref.base + "|" + str(ref.adapter), signature)
    if cached:
        return cached
    fp = fingerprint(ref, files)
    store.remember_fingerprint(ref.base + "|" + str(ref.adapter), signature, fp)
    return fp


def respond(item: Item, spec: BenchmarkSpec, variant: Variant, prompt: Prompt, raw: Any) -> dict[str, Any]:
    """One stored Response: every choice score, the prediction, correctness and the margin."""
    kind = variant.scoring
    record: dict[str, Any] = {
        "item": item.key, "id": item.id, "lang": item.lang, "category": item.category, "country": item.country,
        "answer": item.answer, "scoring": kind,
    }
    if kind == "mc_loglik":
        sums = [s for s, _ in raw]
        tokens = [n for _, n in raw]
        chars = [len(c.strip()) or 1 for c in prompt.continuations]
        by_metric = {
            "acc": sums,
            "acc_norm": [s / c for s, c in zip(sums, chars, strict=True)],
            "acc_token": [s / n for s, n in zip(sums, tokens, strict=True)],
        }[spec.metric]
        record["scores"] = {"sum": sums, "tokens": tokens, "chars": chars}
        decision = by_metric
    elif kind in ("mc_letter", "distribution"):
        logprobs = raw
        total = sum(math.exp(x) for x in logprobs)
        record["scores"] = {"logprob": logprobs, "prob": [math.exp(x) / total for x in logprobs], "letter_mass": total}
        decision = logprobs
    else:  # generate
        pred = parse_answer(raw, item.choices)
        record.update(scores={"text": raw}, pred=pred, correct=None if item.answer is None else pred == item.answer, margin=None)
        return record
    pred = max(range(len(decision)), key=decision.__getitem__)
    record["pred"] = pred
    record["correct"] = None if item.answer is None else pred == item.answer
    if item.answer is not None:
        wrong = [d for i, d in enumerate(decision) if i != item.answer]
        record["margin"] = decision[item.answer] - max(wrong)
    return record


def score_chunk(scorer: Scorer, spec: BenchmarkSpec, variant: Variant, items: list[Item], pool: list[Item]) -> list[dict[str, Any]]:
    shots = pick_shots(items, pool, variant.shots, spec.id)
    prompts = [build_prompt(it, spec, variant, s, scorer.tokenizer) for it, s in zip(items, shots, strict=True)]
    if variant.scoring == "mc_loglik":
        raw: list[Any] = scorer.loglik(prompts)
    elif variant.scoring in ("mc_letter", "distribution"):
        raw = scorer.letters(prompts, [len(it.choices) for it in items])
    else:
        raw = scorer.generate(prompts, spec.max_new_tokens)
    return [respond(it, spec, variant, p, r) for it, p, r in zip(items, prompts, raw, strict=True)]


def evaluate(
    model: str,
    specs: list[BenchmarkSpec],
    variants: list[str] | None = None,
    store: ResultStore | None = None,
    threads: int | str = "auto",
    device: str = "auto",
    progress: bool = True,
) -> EvalResult:
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    started = time.perf_counter()
    shards = Shards()
    store = store or ResultStore()
    ref = resolve(model)
    fp = model_fingerprint(ref, store)
    scorer: Scorer | None = None
    runs: list[EvalRun] = []
    scoring_s = 0.0

    def get_scorer() -> Scorer:
        nonlocal scorer
        if scorer is None:  # loaded only when there is something to score
            from tuner.models import load_model, load_tokenizer
            from tuner.runtime import choose_device, choose_dtype, choose_threads

            dev = choose_device(device)  # type: ignore[arg-type]
            choose_threads(threads, share=int(os.environ.get("LOCAL_WORLD_SIZE", "1")))  # type: ignore[arg-type]
            tokenizer = load_tokenizer(ref)
            scorer = Scorer(load_model(ref, choose_dtype("auto", dev), dev), tokenizer)
        return scorer

    bar = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        disable=not (progress and shards.main),
    )
    with bar:
        for spec in specs:
            items = load_items(spec)
            for text in variants or spec.default_variants():
                variant = Variant.parse(text).resolved(spec)
                subset = [it for it in items if it.lang == variant.lang]
                key = (fp, spec.id, spec.version, prompt_key(spec, variant), variant.name)
                stored = store.get(*key)
                done = shards.from_main(set(stored))
                missing = [it for it in subset if it.key not in done]
                task = bar.add_task(escape(f"{spec.id} [{variant.label}, {variant.scoring}]"), total=len(subset), completed=len(subset) - len(missing))
                for chunk in shards.rounds(missing, CHUNK):
                    responses = []
                    if chunk:
                        active = get_scorer()  # loading the model is not scoring time
                        t0 = time.perf_counter()
                        responses = score_chunk(active, spec, variant, chunk, items)
                        scoring_s += time.perf_counter() - t0
                    responses = shards.gather(responses)
                    if shards.main:
                        store.put(*key, responses)  # committed: an interruption loses at most the next round
                        stored.update((r["item"], r) for r in responses)
                        bar.advance(task, len(responses))
                if not shards.main:
                    continue  # the other ranks of a launch only score
                runs.append(EvalRun(spec, variant, subset, [stored[it.key] for it in subset], len(missing)))
    scored = sum(r.scored_now for r in runs)
    timing = {
        "wall_s": round(time.perf_counter() - started, 3),
        "scoring_s": round(scoring_s, 3),
        "items_scored": scored,
        "items_per_s": round(scored / scoring_s, 2) if scoring_s else 0.0,
        "tokens_per_s": round(scorer.positions / scoring_s, 1) if scorer and scoring_s else 0.0,
    }
    return EvalResult(ref, fp, runs, timing, scorer.forward_calls if scorer else 0)


def summaries(result: EvalResult, out: Path) -> dict[str, Any]:
    """Benchmarks whose metric spans variants (a questionnaire asked per persona and language) give
    it through their module's `summarize_runs(runs, out, label)`, which may also write figures."""
    found: dict[str, Any] = {}
    for spec_id in dict.fromkeys(r.spec.id for r in result.runs):
        runs = [r for r in result.runs if r.spec.id == spec_id]
        hook = getattr(runs[0].spec.benchmark_module(), "summarize_runs", None)
        if hook is not None:
            found[spec_id] = hook(runs, out, result.model.ref)
    return found


def write_results(result: EvalResult, out: Path, suite: str) -> Path:
    """results.json (metrics with CIs, versions, fingerprint, timing) and items.jsonl (every response)."""
    from tuner.train.trainer import library_versions

    out.mkdir(parents=True, exist_ok=True)
    payload = {
        "model": {"ref": result.model.ref, "kind": result.model.kind, "base": result.model.base_ref, "fingerprint": result.fingerprint},
        "suite": suite,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": library_versions(),
        "benchmarks": [
            {
                "id": r.spec.id, "version": r.spec.version, "prompt_hash": prompt_key(r.spec, r.variant), "variant": r.variant.name,
                "label": r.variant.label,
                "lang": r.variant.lang, "scoring": r.variant.scoring, "metric": r.spec.metric, **r.metrics(),
            }
            for r in result.runs
        ],
        "summaries": summaries(result, out),
        "timing": result.timing,
    }
    tmp = out / "results.json.tmp"
    tmp.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    tmp.replace(out / "results.json")
    with (out / "items.jsonl").open("w", encoding="utf-8") as fh:
        for r in result.runs:
            for resp in r.responses:
                fh.write(json.dumps({"benchmark": r.spec.id, "variant": r.variant.name, **resp}, ensure_ascii=False) + "\n")
    return out / "results.json"
