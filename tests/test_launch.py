"""Launch commands and up-front refusals of `tuner train` with `distributed.*` (no process is started)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from tuner.cli import app
from tuner.recipe import load_recipe
from tuner.train.distributed import launch_command, strip_local_rank

runner = CliRunner()


def test_deepspeed_launcher_for_a_deepspeed_recipe(tiny_recipe):
    dist = load_recipe(str(tiny_recipe()), ["distributed.nproc=8", "distributed.deepspeed=zero3"]).distributed
    cmd = launch_command(dist, ["train", "r.yaml"])
    assert cmd[1:3] == ["-m", "deepspeed.launcher.runner"]
    assert cmd[cmd.index("--num_gpus") + 1] == "8"
    assert cmd[-4:] == ["--module", "tuner", "train", "r.yaml"] and "--no_local_rank" in cmd


def test_torchrun_for_ddp_and_multi_node(tiny_recipe):
    one = load_recipe(str(tiny_recipe()), ["distributed.nproc=4"]).distributed
    assert launch_command(one, ["train", "r.yaml"])[1:6] == ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "4"]
    two = load_recipe(
        str(tiny_recipe()), ["distributed.nproc=8", "distributed.nnodes=2", "distributed.node_rank=1", "distributed.master_addr=10.0.0.1"]
    ).distributed
    cmd = launch_command(two, ["train", "r.yaml"])
    assert [cmd[cmd.index(flag) + 1] for flag in ("--nnodes", "--node_rank", "--master_addr")] == ["2", "1", "10.0.0.1"]


def test_deepspeed_multi_node_uses_the_hostfile(tiny_recipe, tmp_path):
    dist = load_recipe(
        str(tiny_recipe()), ["distributed.nproc=8", "distributed.nnodes=2", "distributed.deepspeed=zero2", "distributed.hostfile=hosts"]
    ).distributed
    cmd = launch_command(dist, ["train", "r.yaml"])
    assert cmd[cmd.index("--hostfile") + 1] == "hosts" and cmd[cmd.index("--num_nodes") + 1] == "2"


@pytest.mark.parametrize("overrides, message", [
    (["method.kind=qlora", "distributed.deepspeed=zero3"], "QLoRA's 4-bit bitsandbytes weights cannot be partitioned"),
    (["distributed.deepspeed=zero9"], "neither a preset (zero2, zero3, zero3_offload) nor a DeepSpeed JSON file"),
    (["distributed.nproc=2", "distributed.nnodes=2"], "needs distributed.master_addr"),
])
def test_bad_combinations_are_refused_before_launch(tiny_recipe, overrides, message):
    result = runner.invoke(app, ["train", str(tiny_recipe()), *overrides])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output


def test_local_rank_argument_of_the_deepspeed_launcher_is_dropped():
    assert strip_local_rank(["--local_rank=1", "train", "r.yaml"]) == ["train", "r.yaml"]
    assert strip_local_rank(["--local_rank", "0", "train", "a=1"]) == ["train", "a=1"]
