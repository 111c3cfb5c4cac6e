"""A launched training worker for tests/test_distributed.py: `tuner train`'s own `train()` plus test probes.

    python -m deepspeed.launcher.runner --num_gpus 2 --no_local_rank tests/dist_worker.py RECIPE OUT \
        [--logits FILE] [--stop-at STEP] [override ...]

--logits: after training, every rank runs the live (still partitioned) model on fixed ids and rank 0
writes the logits, to be compared with the saved files. --stop-at: the job dies at that step.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from transformers import TrainerCallback

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tuner.recipe import load_recipe  # noqa: E402
from tuner.train.trainer import train  # noqa: E402

PROBE_IDS = [[5, 17, 42, 99, 7, 3, 64, 120]]


class LiveLogits(TrainerCallback):
    def __init__(self, path: Path) -> None:
        self.path = path

    def on_train_end(self, args, state, control, model=None, **kwargs):
        model.eval()
        with torch.no_grad():  # a collective under ZeRO-3: every rank gathers the layers it runs
            logits = model(input_ids=torch.tensor(PROBE_IDS)).logits
        if state.is_world_process_zero:
            torch.save(logits, self.path)


class StopAt(TrainerCallback):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            raise SystemExit(3)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("recipe")
    parser.add_argument("--logits", type=Path)
    parser.add_argument("--stop-at", type=int)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_intermixed_args()
    callbacks = [LiveLogits(args.logits)] if args.logits else []
    callbacks += [StopAt(args.stop_at)] if args.stop_at else []
    train(load_recipe(args.recipe, args.overrides), resume=args.resume, callbacks=callbacks)


if __name__ == "__main__":
    main()
