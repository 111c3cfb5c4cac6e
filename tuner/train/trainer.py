"""`train(recipe)`: one recipe in, one run folder out. Read it top to bottom:

validate (done by load_recipe) → run folder (and a from-scratch initial model) → hardware → trainer
arguments → tokenizer → data → model → trl SFTTrainer (+ probes) → train (or resume) → save
adapter/model + tokenizer → metrics, plots, run.json → optional merge.

Under a launcher every process runs this function; rank 0 alone prepares the run folder and writes
files, and all ranks save together (ZeRO-3 gathers the partitioned weights collectively).
"""

from __future__ import annotations

import json
import platform
import resource
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tuner.config import dump_yaml
from tuner.errors import UserError
from tuner.train import distributed
from tuner.train.run_folder import CHECKPOINTS, SCRATCH_INIT, last_checkpoint, prepare_run_folder

# TrainingSection fields that are SFTConfig/TrainingArguments fields of the same name and meaning.
UPSTREAM_TRAINING_FIELDS = {
    "num_train_epochs", "max_steps", "learning_rate", "lr_scheduler_type", "warmup_steps", "weight_decay",
    "max_grad_norm", "per_device_train_batch_size", "gradient_accumulation_steps", "activation_checkpointing",
    "max_length", "packing", "seed", "logging_steps", "eval_steps", "save_steps", "save_total_limit",
}

if TYPE_CHECKING:
    from transformers import TrainerCallback

    from tuner.recipe import Recipe


@dataclass
class RunResult:
    out: Path
    steps: int
    train_tokens_seen: int
    tokens_per_s: float
    peak_memory_mb: float
    wall_s: float
    final_loss: float | None
    first_loss: float | None
    first_eval_loss: float | None = None  # before training when eval_on_start
    final_eval_loss: float | None = None


def library_versions() -> dict[str, str]:
    import importlib.metadata as md

    import tuner

    names = ["torch", "transformers", "peft", "trl", "datasets", "accelerate", "bitsandbytes", "deepspeed"]
    versions = {"tuner": tuner.__version__, "python": platform.python_version()}
    for name in names:
        try:
            versions[name] = md.version(name)
        except md.PackageNotFoundError:
            continue
    return versions


def _quantization_config(recipe: Recipe, dtype):
    """4-bit NF4 base for QLoRA; bitsandbytes >= 0.45 also runs it on CPU (slowly, ~13x fp32 LoRA)."""
    import importlib.util

    if importlib.util.find_spec("bitsandbytes") is None:
        raise UserError("method.kind=qlora needs bitsandbytes: `pip install bitsandbytes` (or use method.kind=lora)")
    from transformers import BitsAndBytesConfig

    method = recipe.method
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type=method.bnb_4bit_quant_type,
        bnb_4bit_use_double_quant=method.bnb_4bit_use_double_quant,
        bnb_4bit_compute_dtype=dtype,
    )


def _peft_config(recipe: Recipe):
    from peft import LoraConfig

    m = recipe.method
    return LoraConfig(
        r=m.r, lora_alpha=m.lora_alpha, lora_dropout=m.lora_dropout, target_modules=m.target_modules, task_type="CAUSAL_LM"
    )


def _trim_metrics(path: Path, up_to_step: int) -> None:
    """On resume, drop records logged after the checkpoint we restart from (they will be logged again)."""
    if not path.is_file():
        return
    kept = [line for line in path.read_text().splitlines() if line.strip() and json.loads(line)["step"] <= up_to_step]
    path.write_text("".join(line + "\n" for line in kept))


def _peak_memory_mb(device: str) -> float:
    import torch

    if device == "cuda":
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def train(
    recipe: Recipe, overwrite: bool = False, resume: bool = False, callbacks: list[TrainerCallback] | None = None
) -> RunResult | None:
    """Train; returns the summary on the main process and None on the other ranks of a launch."""
    out = Path(recipe.output.dir).expanduser().resolve()
    main = distributed.rank() == 0
    if main:
        prepare_run_folder(out, dump_yaml(recipe), overwrite, resume)
    ds_config = distributed.deepspeed_config(recipe)

    # Heavy imports only now: `tuner --help` and recipe errors stay instant.
    import torch
    from transformers.trainer_callback import PrinterCallback
    from trl import SFTConfig, SFTTrainer

    from tuner.data.build import build_datasets
    from tuner.models import load_model, load_tokenizer, resolve
    from tuner.report.plots import loss_curve, probe_curves
    from tuner.runtime import choose_device, choose_dtype, choose_threads
    from tuner.train.callbacks import MetricsCallback, RichProgressCallback

    started = time.perf_counter()
    device = choose_device(recipe.runtime.device)
    threads = choose_threads(recipe.runtime.threads, share=distributed.local_world_size())
    dtype = choose_dtype(recipe.model.dtype, device)
    if main and recipe.model.scratch is not None and not (out / SCRATCH_INIT).is_dir():
        from tuner.lab.scratch import build_from_recipe

        build_from_recipe(recipe, out / SCRATCH_INIT)

    t = recipe.training
    args = SFTConfig(
        # Recipe fields named as in SFTConfig/TrainingArguments go through unchanged.
        **t.model_dump(include=UPSTREAM_TRAINING_FIELDS),
        output_dir=str(out / CHECKPOINTS),
        # trl turns bf16 on by default, which fails on CPU; precision follows the chosen dtype instead.
        bf16=dtype == torch.bfloat16,
        fp16=dtype == torch.float16,
        use_cpu=device == "cpu",
        per_device_eval_batch_size=t.per_device_train_batch_size,
        # Every example is already at most max_length, so bfd packs without cutting anything.
        packing_strategy="bfd",
        padding_free=t.packing,
        data_seed=t.seed,
        eval_strategy="steps" if t.eval_steps else "no",
        eval_on_start=bool(t.eval_steps) and t.eval_on_start,
        save_strategy="steps",
        report_to=recipe.report_to,
        include_num_input_tokens_seen="non_padding",
        disable_tqdm=True,
        dataloader_num_workers=0,
        deepspeed=ds_config,
        ddp_find_unused_parameters=False,  # every trainable parameter takes part in each forward
    )
    # The arguments first: they start the process group (a barrier: rank 0 has prepared the folder and
    # any from-scratch base) and, under ZeRO-3, make from_pretrained load the weights already partitioned.
    from accelerate import PartialState

    PartialState().wait_for_everyone()
    if ds_config is not None:
        import deepspeed

        deepspeed.init_distributed()  # zero.Init in from_pretrained needs DeepSpeed's view of the world size
    has_checkpoint = resume and last_checkpoint(out) is not None
    model_ref = resolve(str(out / SCRATCH_INIT) if recipe.model.scratch is not None else recipe.model.name)
    if model_ref.adapter is not None:
        raise UserError(f"model.name: {recipe.model.name} is an adapter; merge it first (`tuner merge`) or train on its base")
    tokenizer = load_tokenizer(model_ref, recipe.model.revision, recipe.model.trust_remote_code)
    data = build_datasets(recipe, tokenizer)
    quant = _quantization_config(recipe, dtype) if recipe.method.kind == "qlora" else None
    model = load_model(model_ref, dtype, device, quant, recipe.model.revision, recipe.model.trust_remote_code)
    metrics = MetricsCallback(out / "metrics.jsonl")
    if recipe.probes is not None:
        from tuner.train.probes import ProbeCallback, load_probes

        probes = load_probes(recipe.probes.benchmarks, recipe.probes.variants, recipe.base_dir)
        callbacks = [ProbeCallback(probes, tokenizer, recipe.probes.every, out / "probes.jsonl"), *(callbacks or [])]
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=data.train,
        eval_dataset=data.eval,
        processing_class=tokenizer,
        peft_config=_peft_config(recipe) if recipe.method.kind in ("lora", "qlora") else None,
        callbacks=[metrics, RichProgressCallback(), *(callbacks or [])],
    )
    # disable_tqdm swaps the tqdm bar for a printer of raw log dicts; the rich bar and metrics.jsonl replace both.
    trainer.remove_callback(PrinterCallback)
    checkpoint = last_checkpoint(out) if has_checkpoint else None
    if checkpoint is not None and main:
        for log in ("metrics.jsonl", "probes.jsonl"):
            _trim_metrics(out / log, int(checkpoint.name.split("-")[-1]))
    trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)

    # Every rank takes part: under ZeRO-3 the weights are gathered collectively; rank 0 writes them.
    trainer.save_model(str(out))  # adapter files for LoRA/QLoRA, model.safetensors for full
    if not trainer.is_world_process_zero():
        return None
    tokenizer.save_pretrained(out)
    if ds_config is not None:
        resolved = trainer.accelerator.state.deepspeed_plugin.hf_ds_config.config  # "auto" values filled in
        (out / "deepspeed.json").write_text(json.dumps(resolved, indent=2) + "\n")
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    losses = [r["loss"] for r in records if "loss" in r]
    eval_losses = [r["eval_loss"] for r in records if "eval_loss" in r]
    result = RunResult(
        out=out,
        steps=trainer.state.global_step,
        train_tokens_seen=int(trainer.state.num_input_tokens_seen or 0),
        tokens_per_s=round(metrics.throughput(trainer.state), 2),
        peak_memory_mb=round(_peak_memory_mb(device), 1),
        wall_s=round(time.perf_counter() - started, 2),
        first_loss=losses[0] if losses else None,
        final_loss=losses[-1] if losses else None,
        first_eval_loss=eval_losses[0] if eval_losses else None,
        final_eval_loss=eval_losses[-1] if eval_losses else None,
    )
    loss_curve(out / "metrics.jsonl", out / "loss.png", f"{out.name}: {recipe.method.kind} on {recipe.model.name}")
    if recipe.probes is not None:
        probe_curves(out / "probes.jsonl", out / "probes.png", f"{out.name}: probes during training")
    summary = {
        "model": recipe.model.name,
        "base_ref": model_ref.base_ref,
        "method": recipe.method.kind,
        "device": device,
        "dtype": str(dtype).removeprefix("torch."),
        "threads": threads,
        "world_size": trainer.args.world_size,
        "result": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(result).items()},
        "data": [{k: v for k, v in asdict(s).items() if k != "lengths"} for s in data.sources],
        "versions": library_versions(),
    }
    (out / "run.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    if recipe.output.merge:
        from tuner.train.merge import merge_run

        merge_run(out)
    return result
