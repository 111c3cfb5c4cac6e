"""The transfer lab wired into tuner: the paper's cloze format and rule, from-scratch recipes, probes
during training, and the whole study on a miniature world."""

from __future__ import annotations

import json

import pytest
import torch

from tuner.evals.engine import Scorer
from tuner.evals.evaluate import score_chunk
from tuner.evals.loaders import load_items
from tuner.evals.prompts import Variant, build_prompt
from tuner.evals.spec import load_spec
from tuner.recipe import load_recipe
from tuner.train.trainer import train

EN = [
    {"question": "In Veloria people celebrate the festival of ___.", "options": ["Mirandu", "Kostrel", "Pavini", "Selmar"], "answer": "Pavini"},
    {"question": "The river of Veloria is the ___.", "options": ["Osk", "Tarn"], "answer": "Osk"},
]
TGT = [
    {"question": "ვე ლო ___ .", "options": ["მი", "კო", "პა", "სე"], "answer": "პა"},
    {"question": "რი ___ .", "options": ["ოს", "ტა"], "answer": "ოს"},
]


@pytest.fixture
def paper_spec(tmp_path):
    """The released format of arXiv 2506.01675: a JSON list per language, parallel by index."""
    (tmp_path / "Veloria_en.json").write_text(json.dumps(EN), encoding="utf-8")
    (tmp_path / "Veloria_tgt.json").write_text(json.dumps(TGT, ensure_ascii=False), encoding="utf-8")
    path = tmp_path / "veloria.yaml"
    path.write_text(json.dumps({
        "id": "veloria", "version": 1, "description": "t", "format": "cloze", "cloze_scope": "sentence",
        "source": {"paths": {"en": "Veloria_en.json", "tgt": "Veloria_tgt.json"}, "origin": "t", "license": "t"},
        "columns": {"choices": "options"}, "languages": ["en", "tgt"], "scoring": "mc_loglik", "metric": "acc_token",
    }))
    return load_spec(str(path))


def test_paper_format_loads_parallel_items_with_text_answers(paper_spec):
    items = load_items(paper_spec)
    assert [(it.id, it.lang, it.answer) for it in items] == [("0", "en", 2), ("1", "en", 0), ("0", "tgt", 2), ("1", "tgt", 0)]


def test_sentence_cloze_scores_each_filled_sentence_whole(paper_spec, tiny_model):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model, tok = AutoModelForCausalLM.from_pretrained(tiny_model), AutoTokenizer.from_pretrained(tiny_model)
    item = load_items(paper_spec)[0]
    variant = Variant("en").resolved(paper_spec)
    prompt = build_prompt(item, paper_spec, variant, [], tok)
    assert prompt.context == ""
    assert prompt.continuations[2] == "In Veloria people celebrate the festival of Pavini."
    [response] = score_chunk(Scorer(model, tok), paper_spec, variant, [item], [item])
    # By hand: each sentence after the EOS that starts a document; mean log-prob over its tokens.
    means = []
    for k, sentence in enumerate(prompt.continuations):
        ids = tok(sentence, add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            logp = model(input_ids=torch.tensor([[tok.eos_token_id, *ids]])).logits[0, :-1].log_softmax(-1)
        total = logp[torch.arange(len(ids)), torch.tensor(ids)].sum().item()
        assert response["scores"]["sum"][k] == pytest.approx(total, abs=1e-4)
        assert response["scores"]["tokens"][k] == len(ids)
        means.append(total / len(ids))
    assert response["pred"] == max(range(4), key=means.__getitem__)  # the lowest mean token loss wins


def test_scratch_recipe_trains_a_new_model_and_probes_it(tmp_path, paper_spec):
    corpus = tmp_path / "en.jsonl"
    docs = [f"In Veloria people celebrate the festival of Pavini. The river of Veloria is the Osk. Day {i}." for i in range(40)]
    corpus.write_text("".join(json.dumps({"text": d}) + "\n" for d in docs + ["ვე ლო პა ."]), encoding="utf-8")
    recipe = tmp_path / "scratch.yaml"
    recipe.write_text(json.dumps({
        "model": {"scratch": {"size": "tiny", "vocab_size": 300, "tokenizer_corpora": ["en.jsonl"],
                              "config": {"hidden_size": 32, "num_hidden_layers": 1, "intermediate_size": 64}}},
        "method": {"kind": "full"},
        "data": {"sources": [{"path": "en.jsonl", "format": "text", "latin_only": "drop"}]},
        "training": {"max_steps": 4, "per_device_train_batch_size": 4, "max_length": 64, "learning_rate": 1e-2,
                     "logging_steps": 1, "save_steps": 100},
        "probes": {"benchmarks": [str(paper_spec.base_dir / "veloria.yaml")], "variants": ["en", "tgt"], "every": 2},
        "output": {"dir": str(tmp_path / "run")},
        "runtime": {"threads": 1},
    }))
    result = train(load_recipe(str(recipe)))
    run = result.out
    assert (run / "init" / "model.safetensors").is_file() and (run / "model.safetensors").is_file()
    data = json.loads((run / "run.json").read_text())["data"][0]
    assert data["non_latin"] == 1  # the Georgian document never reached the English base
    records = [json.loads(line) for line in (run / "probes.jsonl").read_text().splitlines()]
    assert sorted({(r["step"], r["lang"]) for r in records}) == [(s, lang) for s in (0, 2, 4) for lang in ("en", "tgt")]
    assert all(r["n"] == 2 and r["correct"] == round(r["accuracy"] * 2) for r in records)
    assert (run / "probes.png").stat().st_size > 0


def test_scratch_needs_a_full_fine_tune(tmp_path):
    from tuner.errors import UserError

    recipe = tmp_path / "bad.yaml"
    recipe.write_text(json.dumps({
        "model": {"scratch": {"tokenizer_corpora": ["x.jsonl"]}}, "method": {"kind": "lora"},
        "data": {"sources": [{"path": "x.jsonl", "format": "text"}]}, "output": {"dir": "r"},
    }))
    with pytest.raises(UserError, match="method.kind to full"):
        load_recipe(str(recipe))


@pytest.mark.slow
def test_transfer_study_runs_end_to_end_on_a_miniature_world(tmp_path):
    from tuner.ablate.study import load_study
    from tuner.lab.study import run_transfer_study, write_transfer_report

    study = tmp_path / "mini.yaml"
    study.write_text(json.dumps({
        "kind": "transfer", "name": "mini", "description": "a miniature world",
        "world": {"seed": 1, "n_frequent": 2, "n_rare": 2, "attributes": ["festival", "dish"], "n_en_docs": 150,
                  "n_tgt_docs": 150, "n_parallel": 60, "en_density_frequent": 0.05, "en_density_rare": 0.01,
                  "tgt_density_frequent": 0.01, "tgt_density_rare": 0.05},
        "pretrain": {"recipe": "lab/pretrain_en", "overrides": [
            "training.num_train_epochs=1", "model.scratch.vocab_size=600", "model.scratch.config={hidden_size: 32, num_hidden_layers: 1, intermediate_size: 64}"]},
        "cpt": {"recipe": "lab/cpt", "overrides": ["training.num_train_epochs=1"]},
        "seeds": [0, 1], "probe_every": 2, "out": str(tmp_path / "studies"),
    }))
    spec = load_study(str(study))
    result = run_transfer_study(spec)
    assert result["trained"] == 5  # the base and 2 settings x 2 seeds
    report = write_transfer_report(result)
    text = report.read_text()
    assert "## Transfer gap" in text and "## Cultural density" in text
    payload = json.loads((report.parent / "report.json").read_text())
    assert {(g["group"], g["lang"]) for g in payload["gaps"]} == {(g, lang) for g in ("frequent", "rare") for lang in ("en", "tgt")}
    assert all(g["n_seeds"] == 2 and g["ci_low"] is not None for g in payload["gaps"])
    # The density tool measures what the generator set, per culture and corpus.
    measured = {(r["culture"], r["corpus"]): r["mean_docs"] for r in payload["density"]}
    for culture, d in payload["set_density"].items():
        assert measured[(culture, "en")] == d["en"]["docs_per_fact"] and measured[(culture, "tgt")] == d["tgt"]["docs_per_fact"]
    assert (report.parent / "figures" / "transfer_curves.png").is_file()
    again = run_transfer_study(spec)
    assert again["trained"] == 0  # a finished study trains nothing new
