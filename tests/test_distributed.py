"""Two real processes on this CPU: DDP (gloo), DeepSpeed ZeRO-2 and ZeRO-3 against a single-process run.

A single process with gradient accumulation 2 sees the same 4 sequences per optimizer step as two
processes with 2 each, so losses and weights must agree. ZeRO-3's partitioning is exercised by a
persistence threshold of 0 (the default leaves a tiny model's tensors whole and would hide the
saving trap of empty tensors).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests.conftest import build_tiny_model, weights, write_recipe
from tuner.paths import PROJECT_ROOT

needs_deepspeed = pytest.mark.skipif(importlib.util.find_spec("deepspeed") is None, reason="DeepSpeed is not installed")
pytestmark = pytest.mark.slow

# 12 unpacked conversations = 3 steps of 4: an epoch splits evenly over one or two processes (a ragged
# last batch is padded differently by the distributed sampler, which is not what this test is about).
TRAINING = {
    "packing": False, "max_steps": 4, "per_device_train_batch_size": 2, "max_length": 64, "logging_steps": 1, "save_steps": 2,
    "learning_rate": 1e-2, "warmup_steps": 0, "lr_scheduler_type": "constant",
}


def tuner(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tuner", *args], cwd=cwd, capture_output=True, text=True, timeout=600)


def check(proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


def losses(run: Path) -> list[float]:
    return [r["loss"] for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines()) if "loss" in r]


def assert_same_run(a: Path, b: Path, atol: float) -> None:
    assert losses(a) == pytest.approx(losses(b), rel=1e-5)
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    for key in wa:
        assert wb[key].numel() > 0, f"{key} saved empty"
        torch.testing.assert_close(wa[key], wb[key], rtol=0, atol=atol)


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Path:
    from tests.conftest import CHATS

    root = tmp_path_factory.mktemp("dist")
    build_tiny_model(root / "model")
    (root / "chat.jsonl").write_text("".join(json.dumps({"messages": c}, ensure_ascii=False) + "\n" for c in CHATS * 3))
    body = {
        "model": {"name": str(root / "model")},
        "method": {"kind": "lora", "r": 4, "lora_alpha": 8, "lora_dropout": 0.0},
        "data": {"sources": [{"path": str(root / "chat.jsonl"), "format": "chat"}]},
        "training": TRAINING,
        "output": {"dir": str(root / "runs" / "default")},
    }
    write_recipe(root, body)
    (root / "full.yaml").write_text(json.dumps({**body, "method": {"kind": "full"}}))
    zero3 = json.loads((PROJECT_ROOT / "recipes" / "deepspeed" / "zero3.json").read_text())
    zero3["zero_optimization"]["stage3_param_persistence_threshold"] = 0
    (root / "zero3_partitioned.json").write_text(json.dumps(zero3))
    return root


@pytest.fixture(scope="module")
def single(lab) -> dict[str, Path]:
    """One process, gradient accumulation 2: the reference for LoRA and for a full fine-tune."""
    runs = {}
    for kind, recipe in (("lora", "recipe.yaml"), ("full", "full.yaml")):
        out = lab / "runs" / f"single_{kind}"
        check(tuner("train", recipe, f"output.dir={out}", "training.gradient_accumulation_steps=2", cwd=lab))
        runs[kind] = out
    return runs


@pytest.mark.parametrize("name, overrides, atol", [
    ("ddp", [], 1e-7),
    pytest.param("zero2", ["distributed.deepspeed=zero2"], 1e-7, marks=needs_deepspeed),
    pytest.param("zero3", ["distributed.deepspeed=zero3_partitioned.json"], 1e-5, marks=needs_deepspeed),
])
def test_two_processes_match_one(lab, single, name, overrides, atol):
    out = lab / "runs" / name
    check(tuner("train", "recipe.yaml", f"output.dir={out}", "distributed.nproc=2", *overrides, cwd=lab))
    assert_same_run(single["lora"], out, atol)
    assert json.loads((out / "run.json").read_text())["world_size"] == 2
    if overrides:  # the resolved DeepSpeed config sits in the run folder, every "auto" filled from the recipe
        resolved = json.loads((out / "deepspeed.json").read_text())
        assert "auto" not in json.dumps(resolved)
        assert (resolved["train_micro_batch_size_per_gpu"], resolved["gradient_accumulation_steps"]) == (2, 1)
        assert resolved["train_batch_size"] == 4
        assert resolved["gradient_clipping"] == 1.0


@needs_deepspeed
def test_zero3_adapter_gives_the_live_models_logits(lab):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from tests.dist_worker import PROBE_IDS

    out, live = lab / "runs" / "zero3_logits", lab / "live_logits.pt"
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         str(PROJECT_ROOT / "tests" / "dist_worker.py"), "recipe.yaml", "--logits", str(live),
         f"output.dir={out}", "distributed.deepspeed=zero3_partitioned.json"],
        cwd=lab, capture_output=True, text=True, timeout=600,
    )
    check(proc)
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(lab / "model"), out).eval()
    with torch.no_grad():
        saved = model(input_ids=torch.tensor(PROBE_IDS)).logits
    torch.testing.assert_close(saved, torch.load(live), rtol=0, atol=1e-5)
    assert not torch.allclose(saved, AutoModelForCausalLM.from_pretrained(lab / "model")(torch.tensor(PROBE_IDS)).logits)


@needs_deepspeed
def test_zero3_full_model_is_consolidated(lab, single):
    out = lab / "runs" / "zero3_full"
    check(tuner("train", "full.yaml", f"output.dir={out}", "distributed.nproc=2",
                "distributed.deepspeed=zero3_partitioned.json", cwd=lab))
    base = load_file(lab / "model" / "model.safetensors")
    saved = weights(out)
    assert {k: v.shape for k, v in saved.items()} == {k: v.shape for k, v in base.items()}
    # Adam divides by the gradient's running size, so where a gradient is ~0 float noise of reduction
    # order moves a weight by a visible share of one step (lr 1e-2): 1e-4 is 1% of a step.
    assert_same_run(single["full"], out, 1e-4)


@needs_deepspeed
def test_zero3_resumes_from_its_checkpoint(lab, single):
    out = lab / "runs" / "zero3_resumed"
    died = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         str(PROJECT_ROOT / "tests" / "dist_worker.py"), "recipe.yaml", "--stop-at", "3",
         f"output.dir={out}", "distributed.nproc=2", "distributed.deepspeed=zero3_partitioned.json"],
        cwd=lab, capture_output=True, text=True, timeout=600,
    )
    assert died.returncode != 0 and (out / "checkpoints" / "checkpoint-2").is_dir()
    check(tuner("train", "recipe.yaml", f"output.dir={out}", "distributed.nproc=2",
                "distributed.deepspeed=zero3_partitioned.json", "--resume", cwd=lab))
    assert [r["step"] for r in map(json.loads, (out / "metrics.jsonl").read_text().splitlines()) if "loss" in r] == [1, 2, 3, 4]
    assert_same_run(single["lora"], out, 1e-5)


def test_eval_spreads_items_over_two_processes(lab):
    """Each rank scores its share; rank 0 stores everything: same responses as one process, no gaps."""
    import sqlite3

    args = ["eval", str(lab / "model"), "--suite", "control", "--variant", "en"]
    check(tuner(*args, "--store", "one.sqlite", "--out", "one", cwd=lab))
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "tuner",
         *args, "--store", "two.sqlite", "--out", "two"],
        cwd=lab, capture_output=True, text=True, timeout=600,
    )
    check(proc)
    one, two = ({r["item"]: r for r in map(json.loads, (lab / d / "items.jsonl").read_text().splitlines())} for d in ("one", "two"))
    assert one.keys() == two.keys() and len(one) >= 200
    for key, r in one.items():
        assert two[key]["pred"] == r["pred"]
        assert two[key]["scores"]["sum"] == pytest.approx(r["scores"]["sum"], abs=1e-4)
    rows = sqlite3.connect(lab / "two.sqlite").execute("SELECT COUNT(*) FROM responses").fetchone()[0]
    assert rows == len(one)
    assert proc.stdout.count("results:") == 1  # rank 0 alone reports
