"""Training throughput: tuner vs a plain trl SFTTrainer script, same model, data and settings.

    python scripts/bench_train.py                 # embedded model, 64 Hindi conversations, 6 steps each
    python scripts/bench_train.py --steps 10 --threads 2

Both runs happen in this process, one after the other, with the same torch threads, LoRA config,
batch size, max_length, packing and seed. The peer is what a user writes from the trl docs:
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
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    import datasets
    import transformers

    datasets.disable_progress_bars()
    transformers.logging.set_verbosity_error()
    with tempfile.TemporaryDirectory() as tmp:
        results = {"tuner": run_tuner(args.data, args, Path(tmp) / "tuner"), "trl": run_trl(args.data, args, Path(tmp) / "trl")}
    print(f"\n{'run':8} {'tokens/s':>10} {'non-padding share':>18}")
    for name, r in results.items():
        print(f"{name:8} {r['tokens_per_s']:>10.1f} {r['non_padding_share']:>18.1%}")
    print(f"ratio tuner/trl: {results['tuner']['tokens_per_s'] / results['trl']['tokens_per_s']:.2f} "
          f"({args.steps} steps x {args.batch} x {args.max_length} tokens, {args.threads} threads)")


if __name__ == "__main__":
    main()
