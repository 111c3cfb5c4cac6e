"""The command line: fast help, one-line errors with exit 2, and the commands wired to the library."""

from __future__ import annotations

import subprocess
import sys

import yaml
from typer.testing import CliRunner

from tuner.cli import app

runner = CliRunner()


def test_help_imports_no_heavy_library():
    code = "import sys; from tuner.cli import app; print(sorted(m for m in ('torch', 'transformers', 'trl', 'peft') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    done = subprocess.run([sys.executable, "-m", "tuner", "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "train" in done.stdout and "merge" in done.stdout


def test_typo_exits_2_with_one_line_and_no_traceback(tiny_recipe):
    result = runner.invoke(app, ["train", str(tiny_recipe()), "trainig.lr=1"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "trainig" in lines[0] and "did you mean 'training'" in lines[0]
    assert "Traceback" not in result.output


def test_missing_recipe_file_exits_2():
    result = runner.invoke(app, ["train", "no/such/recipe.yaml"])
    assert result.exit_code == 2 and "no such recipe file" in result.output


def test_recipe_show_prints_the_resolved_recipe(tiny_recipe):
    result = runner.invoke(app, ["recipe", "show", str(tiny_recipe()), "training.seed=5"])
    assert result.exit_code == 0
    shown = yaml.safe_load(result.output)
    assert shown["training"]["seed"] == 5 and shown["training"]["packing"] is True


def test_existing_run_needs_resume_or_overwrite(tiny_recipe, tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "something").write_text("x")
    result = runner.invoke(app, ["train", str(tiny_recipe())])
    assert result.exit_code == 2 and "--resume" in result.output and "--overwrite" in result.output
    assert (tmp_path / "run" / "something").is_file()  # nothing touched


def test_train_inspect_and_merge_from_the_command_line(tiny_recipe, tmp_path):
    recipe = str(tiny_recipe())
    inspected = runner.invoke(app, ["data", "inspect", recipe])
    assert inspected.exit_code == 0, inspected.output
    assert "fill" in inspected.output and "truncated" in inspected.output and "trained tokens" in inspected.output
    trained = runner.invoke(app, ["train", recipe, "training.max_steps=2"])
    assert trained.exit_code == 0, trained.output
    assert "optimizer steps" in trained.output
    merged = runner.invoke(app, ["merge", str(tmp_path / "run")])
    assert merged.exit_code == 0 and (tmp_path / "run" / "merged" / "model.safetensors").is_file()


def test_merge_refuses_a_folder_without_adapter(tmp_path):
    result = runner.invoke(app, ["merge", str(tmp_path)])
    assert result.exit_code == 2 and "adapter_config.json" in result.output
