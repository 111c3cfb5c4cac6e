"""Training on a tiny model built in the test: LoRA, full, QLoRA, resume and merge equivalence."""

from __future__ import annotations

import json

import pytest
import torch
from transformers import TrainerCallback

from tests.conftest import weights
from tuner.errors import UserError
from tuner.recipe import load_recipe
from tuner.train.trainer import train


def test_lora_run_writes_a_loadable_adapter_and_the_loss_falls(tiny_recipe, tiny_model):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    recipe = load_recipe(str(tiny_recipe()), ["training.max_steps=12", "training.save_steps=6"])
    result = train(recipe)
    out = result.out
    for name in ["adapter_config.json", "adapter_model.safetensors", "tokenizer.json", "recipe.yaml", "metrics.jsonl", "loss.png", "run.json"]:
        assert (out / name).is_file(), name
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    losses = [r["loss"] for r in records if "loss" in r]
    assert len(losses) == 12 and sum(losses[-3:]) / 3 < sum(losses[:3]) / 3
    assert all(r["tokens_per_s"] > 0 for r in records if "loss" in r)
    run = json.loads((out / "run.json").read_text())
    assert run["result"]["steps"] == 12 and run["data"][0]["examples"] == 12
    assert result.train_tokens_seen > 0 and result.tokens_per_s > 0

    base = AutoModelForCausalLM.from_pretrained(tiny_model)
    model = PeftModel.from_pretrained(base, out)
    saved = weights(out)
    assert saved and all(t.abs().sum() > 0 for k, t in saved.items() if "lora_B" in k)  # trained, not the zero init
    ids = torch.tensor([[5, 6, 7, 8]])
    assert not torch.allclose(model(ids).logits, AutoModelForCausalLM.from_pretrained(tiny_model)(ids).logits)


def test_full_fine_tune_writes_a_whole_model(tiny_recipe, tiny_model):
    from transformers import AutoModelForCausalLM

    recipe = load_recipe(str(tiny_recipe(method={"kind": "full"})), ["training.learning_rate=1e-3"])
    out = train(recipe).out
    assert (out / "model.safetensors").is_file() and not (out / "adapter_config.json").exists()
    tuned = AutoModelForCausalLM.from_pretrained(out)
    base = AutoModelForCausalLM.from_pretrained(tiny_model)
    assert any(not torch.equal(a, b) for a, b in zip(tuned.parameters(), base.parameters()))


class _Interrupt(TrainerCallback):
    """Stands in for a kill: the process dies after `step` without saving anything more."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            raise KeyboardInterrupt


@pytest.mark.parametrize("kill_at", [3, 4], ids=["between-checkpoints", "right-after-checkpoint"])
def test_resume_ends_with_the_same_weights(tiny_recipe, tmp_path, kill_at):
    overrides = ["training.max_steps=6", "training.save_steps=2", "method.lora_dropout=0.1"]
    straight = train(load_recipe(str(tiny_recipe(output={"dir": str(tmp_path / "straight")})), overrides)).out

    path = tiny_recipe(output={"dir": str(tmp_path / "resumed")})
    with pytest.raises(KeyboardInterrupt):
        train(load_recipe(str(path), overrides), callbacks=[_Interrupt(kill_at)])
    with pytest.raises(UserError, match="--resume"):
        train(load_recipe(str(path), overrides))  # never silently overwritten
    resumed = train(load_recipe(str(path), overrides), resume=True).out

    a, b = weights(straight), weights(resumed)
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=1e-6)
    records = [json.loads(line) for line in (resumed / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "loss" in r] == [1, 2, 3, 4, 5, 6]  # none lost, none logged twice


def test_resume_refuses_a_changed_recipe(tiny_recipe, tmp_path):
    path = tiny_recipe()
    train(load_recipe(str(path), ["training.max_steps=2"]))
    with pytest.raises(UserError, match="recipe differs"):
        train(load_recipe(str(path), ["training.max_steps=4"]), resume=True)


def test_merge_writes_a_model_equal_to_the_adapter(tiny_recipe, tiny_model):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from tuner.train.merge import merge_run

    out = train(load_recipe(str(tiny_recipe()))).out
    merged_dir = merge_run(out)
    merged = AutoModelForCausalLM.from_pretrained(merged_dir)
    adapter = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model), out)
    ids = torch.tensor([[3, 9, 27, 81, 5]])
    torch.testing.assert_close(merged(ids).logits, adapter(ids).logits, rtol=0, atol=1e-4)
    assert "logit difference" in (merged_dir / "merge_check.txt").read_text()


def test_qlora_runs_one_step_on_cpu(tiny_recipe):
    pytest.importorskip("bitsandbytes")
    recipe = load_recipe(str(tiny_recipe(method={"kind": "qlora", "r": 4, "lora_alpha": 8})), ["training.max_steps=1"])
    result = train(recipe)
    assert result.steps == 1
    assert json.loads((result.out / "adapter_config.json").read_text())["r"] == 4


def test_a_run_saved_before_new_recipe_fields_is_the_same_recipe(tiny_recipe, tmp_path):
    """Fields added to the schema later count at their defaults: finished runs stay reusable and resumable."""
    import yaml

    from tuner.config import dump_yaml
    from tuner.train.run_folder import same_recipe

    recipe = load_recipe(str(tiny_recipe()))
    older = yaml.safe_load(dump_yaml(recipe))
    del older["distributed"], older["probes"]  # as written before those sections existed
    saved = tmp_path / "saved.yaml"
    saved.write_text(yaml.safe_dump(older))
    assert same_recipe(saved, dump_yaml(recipe))
    assert not same_recipe(saved, dump_yaml(load_recipe(str(tiny_recipe()), ["training.max_steps=5"])))
