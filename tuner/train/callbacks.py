"""Trainer callbacks: per-step metrics to metrics.jsonl, and a rich progress bar (main process only)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments


class MetricsCallback(TrainerCallback):
    """Appends every log event to `metrics.jsonl` with honest throughput.

    tokens/s counts non-padding input tokens (`include_num_input_tokens_seen="non_padding"`) over the
    time spent inside optimizer steps (forward, backward, update), so evaluations and checkpoint
    saves between steps do not dilute it.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.step_seconds = 0.0  # time inside steps so far
        self._step_started = 0.0
        self._last_seconds = 0.0
        self._last_tokens = 0
        self.start_tokens = 0

    def on_train_begin(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kw) -> None:
        self.start_tokens = self._last_tokens = state.num_input_tokens_seen or 0

    def on_step_begin(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kw) -> None:
        self._step_started = time.perf_counter()

    def on_step_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kw) -> None:
        self.step_seconds += time.perf_counter() - self._step_started

    def on_log(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, logs=None, **kw) -> None:
        if not state.is_world_process_zero or not logs:
            return
        tokens = state.num_input_tokens_seen or 0
        record = {"step": state.global_step, "epoch": round(state.epoch or 0, 4), **logs}
        if "loss" in logs and self.step_seconds > self._last_seconds:
            # Throughput of the whole job: tokens of every process (state counts them globally).
            record["tokens_per_s"] = round((tokens - self._last_tokens) / (self.step_seconds - self._last_seconds), 2)
            record["tokens_seen"] = tokens
            self._last_seconds, self._last_tokens = self.step_seconds, tokens
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")

    def throughput(self, state: TrainerState) -> float:
        return ((state.num_input_tokens_seen or 0) - self.start_tokens) / self.step_seconds if self.step_seconds else 0.0


class RichProgressCallback(TrainerCallback):
    """A rich progress bar with the latest loss, in place of transformers' tqdm bar."""

    def __init__(self) -> None:
        self.progress = None
        self.task = None
        self.loss: float | None = None

    def on_train_begin(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kw) -> None:
        if not state.is_world_process_zero:
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self.progress = Progress(
            TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(), TextColumn("loss {task.fields[loss]}"),
            TimeElapsedColumn(), TimeRemainingColumn(),
        )
        self.progress.start()
        self.task = self.progress.add_task("train", total=state.max_steps, completed=state.global_step, loss="–")

    def on_step_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kw) -> None:
        if self.progress is not None:
            shown = f"{self.loss:.4f}" if self.loss is not None else "–"
            self.progress.update(self.task, completed=state.global_step, loss=shown)

    def on_log(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, logs=None, **kw) -> None:
        if logs and "loss" in logs:
            self.loss = logs["loss"]

    def on_train_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kw) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
