"""Multi-process training through the standard launchers (torchrun, deepspeed, accelerate).

`tuner train recipe.yaml distributed.nproc=8` re-runs the same command under a launcher, which sets
WORLD_SIZE/RANK/LOCAL_RANK for every worker; a process started by a launcher (ours or the user's
own `deepspeed -m tuner train ...`) just trains. DeepSpeed is configured through transformers'
integration (`TrainingArguments.deepspeed`), which fills the presets' "auto" values from the recipe,
so the batch sizes of DeepSpeed and the Trainer cannot disagree.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tuner.errors import UserError
from tuner.paths import find_shipped

if TYPE_CHECKING:
    from tuner.recipe import DistributedSection, Recipe

PRESETS = ("zero2", "zero3", "zero3_offload")


def launched() -> bool:
    """True inside a worker started by torchrun, deepspeed, accelerate or mpirun-style launchers."""
    return "WORLD_SIZE" in os.environ


def rank() -> int:
    return int(os.environ.get("RANK", "0"))


def local_world_size() -> int:
    return int(os.environ.get("LOCAL_WORLD_SIZE", os.environ.get("WORLD_SIZE", "1")))


def needs_launch(dist: DistributedSection) -> bool:
    return not launched() and (dist.nproc * dist.nnodes > 1 or dist.deepspeed is not None)


def deepspeed_config(recipe: Recipe) -> dict[str, Any] | None:
    """The DeepSpeed JSON of the recipe (a preset name or a path), checked against the method."""
    ref = recipe.distributed.deepspeed
    if ref is None:
        return None
    path = find_shipped(ref, "recipes/deepspeed", ".json") if ref in PRESETS else None
    if path is None:
        path = Path(ref).expanduser()
        if not path.is_absolute() and not path.is_file():
            path = recipe.base_dir / path
    if not path.is_file():
        raise UserError(f"distributed.deepspeed: {ref} is neither a preset ({', '.join(PRESETS)}) nor a DeepSpeed JSON file")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise UserError(f"distributed.deepspeed: {path} is not valid JSON (line {e.lineno}: {e.msg})") from None
    if not isinstance(config, dict):
        raise UserError(f"distributed.deepspeed: {path} must hold a JSON object")
    zero = config.get("zero_optimization", {})
    if recipe.method.kind == "qlora" and (zero.get("stage") == 3 or "offload_param" in zero):
        raise UserError(
            "distributed.deepspeed: QLoRA's 4-bit bitsandbytes weights cannot be partitioned or offloaded by ZeRO-3; "
            "use zero2 (or plain DDP) with QLoRA, or method.kind=lora with zero3"
        )
    return config


def check_launchable(recipe: Recipe) -> None:
    """Problems a launch would only reveal minutes later, reported before it starts."""
    import importlib.util

    dist = recipe.distributed
    deepspeed_config(recipe)
    if dist.deepspeed is not None and importlib.util.find_spec("deepspeed") is None:
        raise UserError("distributed.deepspeed needs DeepSpeed: `pip install deepspeed --no-build-isolation` (after torch)")
    if dist.nnodes > 1 and _launcher(dist) == "deepspeed" and dist.hostfile is None:
        raise UserError("distributed.nnodes > 1 with the deepspeed launcher needs distributed.hostfile (`host slots=N` lines)")
    if dist.nnodes > 1 and _launcher(dist) != "deepspeed" and dist.master_addr is None:
        raise UserError("distributed.nnodes > 1 needs distributed.master_addr (node 0's address) and, per node, node_rank")


def _launcher(dist: DistributedSection) -> str:
    if dist.launcher != "auto":
        return dist.launcher
    return "deepspeed" if dist.deepspeed is not None else "torchrun"


def launch_command(dist: DistributedSection, tuner_args: list[str]) -> list[str]:
    """The launcher command that starts `python -m tuner <tuner_args>` on every worker of this node."""
    py = sys.executable
    launcher = _launcher(dist)
    if launcher == "deepspeed":
        cmd = [py, "-m", "deepspeed.launcher.runner", "--num_gpus", str(dist.nproc), "--master_port", str(dist.master_port)]
        if dist.nnodes > 1:
            cmd += ["--num_nodes", str(dist.nnodes), "--hostfile", str(dist.hostfile)]
        return [*cmd, "--no_local_rank", "--module", "tuner", *tuner_args]
    if launcher == "torchrun":
        if dist.nnodes == 1:
            cmd = [py, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(dist.nproc)]
        else:
            cmd = [
                py, "-m", "torch.distributed.run", "--nproc_per_node", str(dist.nproc), "--nnodes", str(dist.nnodes),
                "--node_rank", str(dist.node_rank), "--master_addr", str(dist.master_addr), "--master_port", str(dist.master_port),
            ]
        return [*cmd, "-m", "tuner", *tuner_args]
    cmd = [
        py, "-m", "accelerate.commands.launch", "--num_processes", str(dist.nproc * dist.nnodes),
        "--num_machines", str(dist.nnodes), "--machine_rank", str(dist.node_rank), "--main_process_port", str(dist.master_port),
    ]
    if dist.nnodes > 1:
        cmd += ["--main_process_ip", str(dist.master_addr)]
    if dist.nproc * dist.nnodes > 1:
        # accelerate's flag for any multi-process launch: on a CPU-only machine the workers use gloo
        # (its --cpu flag would start a single process).
        cmd += ["--multi_gpu"]
    return [*cmd, "-m", "tuner", *tuner_args]


def run_launch(dist: DistributedSection, tuner_args: list[str]) -> int:
    """Start the workers and wait; their exit status is ours. Each worker uses its share of the cores."""
    import subprocess

    from tuner.runtime import available_cores

    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", str(max(1, available_cores() // dist.nproc)))
    return subprocess.call(launch_command(dist, tuner_args), env=env)


def strip_local_rank(argv: list[str]) -> list[str]:
    """The deepspeed launcher passes `--local_rank=N` (unless --no_local_rank); the environment has it too."""
    kept = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg.startswith("--local_rank=") or arg.startswith("--local-rank="):
            continue
        elif arg in ("--local_rank", "--local-rank"):
            skip = True
        else:
            kept.append(arg)
    return kept
