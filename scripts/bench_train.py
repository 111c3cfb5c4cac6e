"""Training throughput: tuner vs a plain trl SFTTrainer script, same model, data and settings.

    python scripts/bench_train.py                 # embedded model, 64 Hindi conversations, 6 steps each
    python scripts/bench_train.py --steps 10 --threads 2

Each run happens in a fresh child process of this script (so neither inherits the other's warm
caches), one after the other, with the same torch threads, LoRA config, batch size, max_length,
packing and seed; `--repeats` alternates their order. The peer is what a user writes from the trl docs:
prompt/completion data (trl then trains on the completion only), `packing=True`, trl's own
tokenisation. Printed per run: steady-state tokens/s (non-padding input tokens over the wall time of
steps 2..N, so model loading and the first step's warm-up are excluded), the share of non-padding
tokens in what the model was fed, and the ratio tuner / trl.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch
from transformers import TrainerCallback

ROOT = Path(__file__).resolve().parent.parent


class SteadyClock(TrainerCallback):
    """Tokens/s over steps 2..N (the first step pays one-off costs), and every token position the
    model was fed during training, padding included (a forward pre-hook on the model)."""

    def __init__(self) -> None:
        self.t0 = self.tokens0 = self.t1 = self.tokens1 = None
        self.fed_positions = 0

    def on_train_begin(self, args, state, control, model=None, **kw):
        def count(module, positional, kwargs):
            ids = kwargs.get("input_ids", positional[0] if positional else None)
            if module.training and ids is not None:
                self.fed_positions += ids.numel()

        model.register_forward_pre_hook(count, with_kwargs=True)

    def on_step_end(self, args, state, control, **kw):
        if state.global_step == 1:
            self.t0, self.tokens0 = time.perf_counter(), state.num_input_tokens_seen
        self.t1, self.tokens1 = time.perf_counter(), state.num_input_tokens_seen

    def result(self, non_padding_tokens: int) -> dict:
        return {
            "tokens_per_s": (self.tokens1 - self.tokens0) / (self.t1 - self.t0),
            "non_padding_share": non_padding_tokens / self.fed_positions,
        }


def run_tuner(data: Path, args, out: Path) -> dict:
    from tuner.recipe import load_recipe
    from tuner.train.trainer import train

    clock = SteadyClock()
    recipe = load_recipe(str(ROOT / "recipes" / "hindi_sft.yaml"), [
        f"data.sources.0.path={data}", f"data.sources.0.max_samples={args.examples}",
        f"training.max_steps={args.steps}", f"training.per_device_train_batch_size={args.batch}",
        f"training.max_length={args.max_length}", "training.save_steps=1000", f"output.dir={out}",
        f"runtime.threads={args.threads}", "training.logging_steps=1",
        "data.eval_fraction=0", "training.eval_steps=null",  # the peer trains on every example, no eval
    ])
    result = train(recipe, overwrite=True, callbacks=[clock])
    return clock.result(result.train_tokens_seen)


def run_trl(data: Path, args, out: Path) -> dict:
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    from tuner.models import prepare_embedded

    rows = [json.loads(line)["messages"] for line in data.read_text().splitlines()[: args.examples]]
    dataset = Dataset.from_list([{"prompt": m[:-1], "completion": m[-1:]} for m in rows])
    folder = prepare_embedded("smollm2-135m-instruct")
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    clock = SteadyClock()
    config = SFTConfig(
        output_dir=str(out), max_steps=args.steps, per_device_train_batch_size=args.batch, max_length=args.max_length,
        packing=True, learning_rate=5e-4, lr_scheduler_type="cosine", warmup_steps=2, seed=42,
        bf16=False, use_cpu=True, activation_checkpointing=False, logging_steps=1, save_strategy="no",
        report_to="none", include_num_input_tokens_seen="non_padding", disable_tqdm=True,
    )
    trainer = SFTTrainer(
        model=model, args=config, train_dataset=dataset, processing_class=AutoTokenizer.from_pretrained(folder),
        peft_config=LoraConfig(r=16, lora_alpha=32, lora_dropout=0.05, target_modules="all-linear", task_type="CAUSAL_LM"),
        callbacks=[clock],
    )
    trainer.train()
    return clock.result(trainer.state.num_input_tokens_seen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT / "recipes" / "data" / "hindi_chat.jsonl")
    parser.add_argument("--examples", type=int, default=64)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--max-length", type=int, default=1024)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1, help="runs per side, order alternating; the median is shown")
    parser.add_argument("--side", choices=["tuner", "trl"], help=argparse.SUPPRESS)  # child-process mode
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.side:
        torch.set_num_threads(args.threads)
        import datasets
        import transformers

        datasets.disable_progress_bars()
        transformers.logging.set_verbosity_error()
        with tempfile.TemporaryDirectory() as tmp:
            run = run_tuner if args.side == "tuner" else run_trl
            args.result.write_text(json.dumps(run(args.data, args, Path(tmp) / args.side)))
        return

    import statistics
    import subprocess
    import sys

    results: dict[str, list[dict]] = {"tuner": [], "trl": []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            for side in (("tuner", "trl") if i % 2 == 0 else ("trl", "tuner")):
                out = Path(tmp) / f"{side}{i}.json"
                child = [sys.executable, __file__, "--side", side, "--result", str(out), "--data", str(args.data),
                         "--examples", str(args.examples), "--steps", str(args.steps), "--batch", str(args.batch),
                         "--max-length", str(args.max_length), "--threads", str(args.threads)]
                subprocess.run(child, check=True, capture_output=True)
                results[side].append(json.loads(out.read_text()))
    median = {side: statistics.median(r["tokens_per_s"] for r in runs) for side, runs in results.items()}
    print(f"\n{'run':8} {'tokens/s (median)':>18} {'runs':>22} {'non-padding share':>18}")
    for side, runs in results.items():
        each = ", ".join(f"{r['tokens_per_s']:.1f}" for r in runs)
        print(f"{side:8} {median[side]:>18.1f} {each:>22} {runs[0]['non_padding_share']:>18.1%}")
    print(f"ratio tuner/trl: {median['tuner'] / median['trl']:.2f} "
          f"({args.steps} steps x {args.batch} x {args.max_length} tokens, {args.threads} threads, {args.repeats} run(s) per side)")


if __name__ == "__main__":
    main()
