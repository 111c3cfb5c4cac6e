"""Benchmarks scored on the live model while it trains: accuracy against optimizer step.

A recipe's `probes:` section names benchmarks (bilingual cloze probes, say) and a period; the run
folder gets probes.jsonl (one record per benchmark, variant and probe step) and probes.png
(`report.plots.probe_curves`). Every
rank scores (a ZeRO-3 forward is collective); rank 0 writes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

    from tuner.evals.prompts import Variant
    from tuner.evals.spec import BenchmarkSpec, Item


class ProbeCallback(TrainerCallback):
    def __init__(
        self,
        probes: list[tuple[BenchmarkSpec, Variant, list[Item]]],
        tokenizer: PreTrainedTokenizerBase,
        every: int,
        path: Path,
    ) -> None:
        self.probes = probes
        self.tokenizer = tokenizer
        self.every = every
        self.path = path
        self.last_step: int | None = None

    def on_train_begin(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, model=None, **kw) -> None:
        if state.global_step == 0:  # the baseline; a resumed run has it already
            self.probe(state, model)

    def on_step_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, model=None, **kw) -> None:
        if state.global_step % self.every == 0:
            self.probe(state, model)

    def on_train_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, model=None, **kw) -> None:
        if self.last_step != state.global_step:
            self.probe(state, model)

    def probe(self, state: TrainerState, model) -> None:
        from tuner.evals.engine import Scorer
        from tuner.evals.evaluate import score_chunk

        was_training = model.training
        scorer = Scorer(model, self.tokenizer)  # puts the model in eval mode (no dropout)
        records = []
        for spec, variant, items in self.probes:
            responses = score_chunk(scorer, spec, variant, items, items)
            correct = sum(bool(r["correct"]) for r in responses)
            records.append({
                "step": state.global_step, "benchmark": spec.id, "variant": variant.name, "lang": variant.lang,
                "correct": correct, "n": len(responses), "accuracy": correct / len(responses),
            })
        model.train(was_training)
        self.last_step = state.global_step
        if state.is_world_process_zero:
            with self.path.open("a", encoding="utf-8") as fh:
                fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def load_probes(names: list[str], variants: list[str] | None, base_dir: Path) -> list[tuple[BenchmarkSpec, Variant, list[Item]]]:
    """Each named benchmark (a spec id under eval/ or a spec file relative to the recipe) in each variant."""
    from tuner.evals.loaders import load_items
    from tuner.evals.prompts import Variant
    from tuner.evals.spec import load_spec

    probes = []
    for name in names:
        path = base_dir / name
        spec = load_spec(str(path) if path.suffix in (".yaml", ".yml") and path.is_file() else name)
        items = load_items(spec)
        for text in variants or spec.default_variants():
            variant = Variant.parse(text).resolved(spec)
            probes.append((spec, variant, [it for it in items if it.lang == variant.lang]))
    return probes
