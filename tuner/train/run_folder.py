"""The run folder: what `tuner train` writes and what `--resume` and `--overwrite` guard.

    runs/NAME/
      recipe.yaml                 the resolved recipe (written first; --resume requires it unchanged)
      adapter_config.json, adapter_model.safetensors   (LoRA/QLoRA)  | config.json, model.safetensors (full)
      tokenizer files, chat template
      metrics.jsonl, loss.png, run.json (summary, versions, data report)
      deepspeed.json              the resolved DeepSpeed config (DeepSpeed runs)
      checkpoints/checkpoint-N/   trainer state for --resume
      init/                       model.scratch runs: the random initial model and the trained tokenizer
      merged/                     with output.merge: true or `tuner merge`
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tuner.errors import UserError

CHECKPOINTS = "checkpoints"
SCRATCH_INIT = "init"  # a from-scratch run's initial model and trained tokenizer


def check_run_folder(out: Path, recipe_yaml: str, overwrite: bool, resume: bool) -> bool:
    """Refuse contradictory flags and unintended overwrites; returns True when there is a checkpoint to resume from."""
    if overwrite and resume:
        raise UserError("--overwrite and --resume contradict each other; pick one")
    exists = out.exists() and any(out.iterdir())
    if exists and not (overwrite or resume):
        raise UserError(f"output.dir {out} already holds a run; pass --resume to continue it or --overwrite to replace it")
    if not resume:
        return False
    if not exists:
        raise UserError(f"--resume: {out} has no run to resume; drop --resume to start one")
    saved = out / "recipe.yaml"
    if saved.is_file() and not same_recipe(saved, recipe_yaml):
        raise UserError(f"--resume: the recipe differs from {saved}; resume with the same recipe and overrides")
    return last_checkpoint(out) is not None


def same_recipe(saved: Path, recipe_yaml: str) -> bool:
    """The saved recipe, read with today's schema, equals this one: fields added to tuner since the run
    was made count at their defaults, which are what the run did."""
    import yaml
    from pydantic import ValidationError

    from tuner.config import dump_yaml
    from tuner.recipe import Recipe

    try:
        return dump_yaml(Recipe.model_validate(yaml.safe_load(saved.read_text(encoding="utf-8")))) == recipe_yaml
    except (ValidationError, yaml.YAMLError):
        return False


def prepare_run_folder(out: Path, recipe_yaml: str, overwrite: bool, resume: bool) -> bool:
    """Check, then create (or empty, with --overwrite) the run folder; returns True when resuming from a checkpoint."""
    has_checkpoint = check_run_folder(out, recipe_yaml, overwrite, resume)
    if resume:
        return has_checkpoint
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "recipe.yaml").write_text(recipe_yaml, encoding="utf-8")
    return False


def last_checkpoint(out: Path) -> Path | None:
    folder = out / CHECKPOINTS
    if not folder.is_dir():
        return None
    steps = [(int(p.name.split("-")[-1]), p) for p in folder.glob("checkpoint-*") if (p / "trainer_state.json").is_file()]
    return max(steps)[1] if steps else None
