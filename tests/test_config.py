"""Recipe schema: strict keys with suggestions, overrides, duplicates, and every shipped recipe valid."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tuner.config import apply_overrides, dump_yaml, load_yaml
from tuner.errors import UserError
from tuner.paths import PROJECT_ROOT
from tuner.recipe import Recipe, load_recipe


def errors_of(path: Path, overrides: list[str] | None = None) -> list[str]:
    with pytest.raises(UserError) as info:
        load_recipe(str(path), overrides)
    return str(info.value).splitlines()


def test_unknown_top_level_key_suggests_the_nearest(tiny_recipe):
    lines = errors_of(tiny_recipe(), ["trainig.lr=1"])
    assert len(lines) == 1
    assert "trainig: unknown key; did you mean 'training'?" in lines[0]


def test_nested_unknown_key_and_synonym(tiny_recipe):
    lines = errors_of(tiny_recipe(), ["training.lr=1", "method.rnk=4"])
    assert any("training.lr: unknown key; did you mean 'learning_rate'?" in line for line in lines)
    assert any("method.lora.rnk: unknown key; did you mean 'r'?" in line for line in lines)


def test_all_problems_reported_at_once_with_values(tiny_recipe):
    lines = errors_of(tiny_recipe(), ["training.max_steps=many", "training.truncation=cut", "method.kind=lroa"])
    text = "\n".join(lines)
    assert "training.max_steps" in text and "'many'" in text
    assert "training.truncation" in text and "'cut'" in text
    assert "unknown kind 'lroa'; did you mean 'lora'?" in text


def test_missing_required_and_conflicting_origin(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("data:\n  sources:\n    - format: chat\n")
    text = "\n".join(errors_of(path))
    assert "output: required key is missing" in text
    assert "exactly one of 'path'" in text


def test_duplicate_keys_are_refused(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("training:\n  seed: 1\n  seed: 2\n")
    with pytest.raises(UserError, match="line 3: duplicate key 'seed'"):
        load_yaml(path)


def test_overrides_parse_yaml_values_and_list_indices():
    data = {"training": {"seed": 1}, "data": {"sources": [{"path": "a"}]}}
    apply_overrides(data, ["training.learning_rate=1e-4", "training.packing=false", "data.sources.0.max_samples=5", "report_to=[none]"])
    assert data["training"]["learning_rate"] == 1e-4
    assert data["training"]["packing"] is False
    assert data["data"]["sources"][0]["max_samples"] == 5
    assert data["report_to"] == ["none"]
    with pytest.raises(UserError, match="list of 1"):
        apply_overrides(data, ["data.sources.3.path=x"])
    with pytest.raises(UserError, match="expected key.path=value"):
        apply_overrides(data, ["training.seed"])


def test_resolved_recipe_round_trips(tiny_recipe, tmp_path):
    recipe = load_recipe(str(tiny_recipe()), ["training.seed=7"])
    dumped = dump_yaml(recipe)
    again = Recipe.model_validate(yaml.safe_load(dumped))
    assert again.training.seed == 7
    assert dump_yaml(again) == dumped
    assert "base_dir" not in dumped


def test_data_paths_resolve_from_the_recipe_folder(tmp_path, chat_file, monkeypatch):
    sub = tmp_path / "recipes"
    sub.mkdir()
    (sub / "r.yaml").write_text(f"data:\n  sources:\n    - {{path: ../{chat_file.name}, format: chat}}\noutput: {{dir: out}}\n")
    monkeypatch.chdir("/")
    recipe = load_recipe(str(sub / "r.yaml"))
    assert recipe.source_path(recipe.data.sources[0]) == chat_file.resolve()


@pytest.mark.parametrize("path", sorted((PROJECT_ROOT / "recipes").glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_recipe_validates_and_its_data_exists(path):
    recipe = load_recipe(str(path))
    for source in recipe.data.sources:
        if source.path:
            assert recipe.source_path(source).is_file(), source.path


def test_shipped_recipe_found_by_name_from_any_directory(monkeypatch):
    monkeypatch.chdir("/")
    assert load_recipe("hindi_sft").method.kind == "lora"


def test_training_fields_pass_through_under_their_upstream_names():
    import dataclasses

    from trl import SFTConfig

    from tuner.recipe import TrainingSection
    from tuner.train.trainer import UPSTREAM_TRAINING_FIELDS

    upstream = {f.name for f in dataclasses.fields(SFTConfig)}
    assert UPSTREAM_TRAINING_FIELDS <= upstream
    tuner_only = {"truncation", "eval_on_start"}  # tuner's policy, and a switch tied to eval_steps
    assert set(TrainingSection.model_fields) == UPSTREAM_TRAINING_FIELDS | tuner_only
