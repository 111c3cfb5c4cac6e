"""Studies: every shipped spec validates, and a tiny study runs, reports, and reruns for free."""

from __future__ import annotations

import json

import pytest

from tuner.ablate.study import load_study, run_study, write_study_report
from tuner.errors import UserError
from tuner.evals.spec import load_suite
from tuner.evals.store import ResultStore
from tuner.paths import PROJECT_ROOT
from tuner.recipe import load_recipe


@pytest.mark.parametrize("path", sorted((PROJECT_ROOT / "ablations").glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_study_validates_with_its_recipes_and_suite(path):
    spec = load_study(str(path))
    if spec.kind == "transfer":
        for stage in (spec.pretrain, spec.cpt):
            load_recipe(stage.recipe, stage.overrides)
        return
    specs = {s.id: s for s in load_suite(spec.suite)}
    for arm in spec.arms:
        if arm.recipe:
            load_recipe(arm.recipe, arm.overrides)
        for bench in arm.variants if isinstance(arm.variants, dict) else []:
            assert bench in specs, f"arm {arm.name} sets variants for {bench}, which is not in the suite"


def test_study_spec_errors(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("name: s\ndescription: d\nbase: b\nsuite: control\narms: [{name: a}]\ncontrasts: [[a, b]]\n")
    with pytest.raises(UserError, match="contrast names unknown arm 'b'"):
        load_study(str(path))


def test_tiny_study_trains_compares_and_reruns_for_free(tiny_model, tiny_recipe, tmp_path, monkeypatch):
    from tests.test_evals import write_spec

    monkeypatch.chdir(tmp_path)
    suite = write_spec(tmp_path)
    spec_path = tmp_path / "study.yaml"
    spec_path.write_text(json.dumps({
        "name": "tiny", "description": "a tiny study", "base": str(tiny_model), "suite": str(suite),
        "base_variants": ["{lang}"],
        "arms": [
            {"name": "lora", "recipe": str(tiny_recipe()), "overrides": ["training.max_steps=2"]},
            {"name": "persona", "variants": ["{lang}+persona=india"]},
        ],
        "contrasts": [["persona", "lora"]],
    }))
    spec = load_study(str(spec_path))
    store = ResultStore(tmp_path / "s.sqlite")
    first = run_study(spec, store, progress=False)
    assert first["meta"]["trained"] == 1 and first["meta"]["items_scored"] == 6 * 3
    assert [c["name"] for c in first["comparisons"]] == ["lora vs base", "persona vs base", "lora vs persona"]
    report = write_study_report(first)
    text = report.read_text()
    assert "## lora vs base" in text and "McNemar p" in text and (report.parent / "accuracy_change.png").is_file()
    assert json.loads((report.parent / "report.json").read_text())["comparisons"][0]["benchmarks"][0]["n"] == 3

    again = run_study(spec, store, progress=False)
    assert again["meta"]["trained"] == 0 and again["meta"]["items_scored"] == 0 and again["meta"]["forward_calls"] == 0
