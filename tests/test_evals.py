"""The scoring engine against a slow reference, the result store's resume and reuse, specs and prompts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import tuner.evals.evaluate as evaluate_mod
from tuner.errors import UserError
from tuner.evals.engine import Row, Scorer, parse_answer, prefix_groups, reference_loglik
from tuner.evals.evaluate import evaluate
from tuner.evals.loaders import load_items
from tuner.evals.metrics import accuracy, wilson_interval
from tuner.evals.prompts import Prompt, Variant, build_prompt, pick_shots
from tuner.evals.spec import load_spec
from tuner.evals.store import ResultStore

ITEMS = [
    {"id": "q1", "lang": "en", "category": "festivals", "question": "Which festival is the festival of lights?", "choices": ["Holi", "Diwali", "Onam", "Pongal"], "answer": 1},
    {"id": "q1", "lang": "hi", "category": "festivals", "question": "रोशनी का त्योहार कौन-सा है?", "choices": ["होली", "दीवाली", "ओणम", "पोंगल"], "answer": 1},
    {"id": "q2", "lang": "en", "category": "geography", "question": "Which river flows through Varanasi?", "choices": ["Ganga", "Godavari", "Narmada river basin", "Kaveri"], "answer": 0},
    {"id": "q2", "lang": "hi", "category": "geography", "question": "वाराणसी से कौन-सी नदी बहती है?", "choices": ["गंगा", "गोदावरी", "नर्मदा", "कावेरी"], "answer": 0},
    {"id": "q3", "lang": "en", "category": "food", "question": "Two plus two is?", "choices": ["three", "four", "five", "twenty-two"], "answer": 1},
    {"id": "q3", "lang": "hi", "category": "food", "question": "दो और दो कितने होते हैं?", "choices": ["तीन", "चार", "पाँच", "बाईस"], "answer": 1},
]


def write_spec(tmp_path: Path, **overrides) -> Path:
    (tmp_path / "items.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in ITEMS))
    spec = {
        "id": "mini", "version": 1, "description": "test", "languages": ["en", "hi"],
        "source": {"path": "items.jsonl", "origin": "test", "license": "test"},
        "prompts": {"en": {"loglik": "Question: {question}\nAnswer:"}, "hi": {"loglik": "प्रश्न: {question}\nउत्तर:"}},
        **overrides,
    }
    path = tmp_path / "mini.yaml"
    path.write_text(json.dumps(spec, ensure_ascii=False))
    return path


@pytest.fixture(scope="module")
def tiny(tiny_model):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.float32)
    return model, AutoTokenizer.from_pretrained(tiny_model)


@pytest.mark.parametrize("variant", ["en", "hi", "en+shots=2", "hi+persona=india+chat", "en+chat"])
@pytest.mark.parametrize("budget", [64, 1024])
def test_batched_loglik_equals_the_one_at_a_time_reference(tiny, tmp_path, variant, budget):
    model, tok = tiny
    spec = load_spec(str(write_spec(tmp_path)))
    items = load_items(spec)
    v = Variant.parse(variant).resolved(spec)
    subset = [it for it in items if it.lang == v.lang]
    prompts = [build_prompt(it, spec, v, s, tok) for it, s in zip(subset, pick_shots(subset, items, v.shots, spec.id), strict=True)]
    scorer = Scorer(model, tok, token_budget=budget, pack_width=budget // 2)
    fast = scorer.loglik(prompts)
    for p, scores in zip(prompts, fast, strict=True):
        ref = [reference_loglik(model, scorer, p.context, c) for c in p.continuations]
        assert [s for s, _ in scores] == pytest.approx(ref, abs=1e-4)
        assert max(range(4), key=lambda i: scores[i][0]) == max(range(4), key=ref.__getitem__)


def test_cloze_continuations_carry_the_rest_of_the_sentence(tiny, tmp_path):
    model, tok = tiny
    rows = [{"id": "c1", "question": "The festival of lights is ___ in autumn.", "choices": ["Diwali", "Holi"], "answer": 0}]
    (tmp_path / "cloze.jsonl").write_text(json.dumps(rows[0]) + "\n")
    spec_path = tmp_path / "cloze.yaml"
    spec_path.write_text(json.dumps({"id": "cl", "version": 1, "description": "t", "format": "cloze",
                                     "source": {"path": "cloze.jsonl", "origin": "t", "license": "t"}}))
    spec = load_spec(str(spec_path))
    item = load_items(spec)[0]
    prompt = build_prompt(item, spec, Variant("en").resolved(spec), [], tok)
    assert prompt.context == "The festival of lights is"
    assert prompt.continuations == [" Diwali in autumn.", " Holi in autumn."]
    scorer = Scorer(model, tok)
    fast = [s for s, _ in scorer.loglik([prompt])[0]]
    assert fast == pytest.approx([reference_loglik(model, scorer, prompt.context, c) for c in prompt.continuations], abs=1e-4)


def plain_letters(model, scorer: Scorer, prompt: Prompt) -> list[float]:
    """The letters' log-probs from one unbatched forward over the whole prompt."""
    context, ids = scorer.letter_ids(prompt, 4)
    with torch.no_grad():
        return model(input_ids=torch.tensor([context])).logits[0, -1].log_softmax(-1)[ids].tolist()


@pytest.mark.parametrize("variant", ["en", "en+chat", "hi+persona=india+chat"])
def test_letter_scores_equal_a_plain_forward(tiny, tmp_path, variant):
    model, tok = tiny
    spec = load_spec(str(write_spec(tmp_path, scoring="mc_letter")))
    v = Variant.parse(variant).resolved(spec)
    items = [it for it in load_items(spec) if it.lang == v.lang]
    prompts = [build_prompt(it, spec, v, [], tok) for it in items]
    scorer = Scorer(model, tok)
    got = scorer.letters(prompts, [4] * len(prompts))
    for p, scores in zip(prompts, got, strict=True):
        assert scores == pytest.approx(plain_letters(model, scorer, p), abs=1e-4)
    assert ("A. Holi\nB. Diwali" if v.lang == "en" else "A. होली\nB. दीवाली") in prompts[0].context


def test_interrupted_eval_resumes_and_a_third_run_scores_nothing(tiny_model, tmp_path, monkeypatch):
    monkeypatch.setattr(evaluate_mod, "CHUNK", 1)
    spec = load_spec(str(write_spec(tmp_path)))
    straight = evaluate(str(tiny_model), [spec], store=ResultStore(tmp_path / "a.sqlite"), progress=False)

    class Killed(ResultStore):
        writes = 0

        def put(self, *args):
            if self.writes == 2:
                raise KeyboardInterrupt  # dies with the third chunk in flight
            self.writes += 1
            super().put(*args)

    with pytest.raises(KeyboardInterrupt):
        evaluate(str(tiny_model), [spec], store=Killed(tmp_path / "b.sqlite"), progress=False)
    resumed = evaluate(str(tiny_model), [spec], store=ResultStore(tmp_path / "b.sqlite"), progress=False)
    assert sum(r.scored_now for r in resumed.runs) == len(ITEMS) - 2
    third = evaluate(str(tiny_model), [spec], store=ResultStore(tmp_path / "b.sqlite"), progress=False)
    assert third.forward_calls == 0 and sum(r.scored_now for r in third.runs) == 0
    for a, b in zip(straight.runs, third.runs, strict=True):
        for ra, rb in zip(a.responses, b.responses, strict=True):
            assert ra["pred"] == rb["pred"] and ra["scores"]["sum"] == pytest.approx(rb["scores"]["sum"], abs=1e-5)


def test_retrained_weights_in_the_same_folder_are_scored_again(tmp_path):
    from tests.conftest import build_tiny_model

    folder = build_tiny_model(tmp_path / "m", seed=0)
    spec = load_spec(str(write_spec(tmp_path)))
    store = ResultStore(tmp_path / "s.sqlite")
    first = evaluate(str(folder), [spec], store=store, progress=False)
    build_tiny_model(folder, seed=1)  # same path, new weights
    second = evaluate(str(folder), [spec], store=store, progress=False)
    assert first.fingerprint != second.fingerprint
    assert sum(r.scored_now for r in second.runs) == len(ITEMS)


def test_store_keys_on_variant_and_scoring(tiny_model, tmp_path):
    spec = load_spec(str(write_spec(tmp_path)))
    store = ResultStore(tmp_path / "s.sqlite")
    evaluate(str(tiny_model), [spec], ["en"], store=store, progress=False)
    again = evaluate(str(tiny_model), [spec], ["en+scoring=mc_letter", "en+nochat"], store=store, progress=False)
    assert [r.scored_now for r in again.runs] == [3, 0]  # letter scoring is new; nochat is the same as en


def test_spec_errors_name_the_key_and_suggest(tmp_path):
    with pytest.raises(UserError, match="scorign: unknown key; did you mean 'scoring'"):
        load_spec(str(write_spec(tmp_path, scorign="mc_letter")))
    with pytest.raises(UserError, match="prompts given for \\['fr'\\]"):
        load_spec(str(write_spec(tmp_path, prompts={"fr": {}})))


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"id": "x", "question": "q", "answer": 0}, r"row 1: column 'choices' \(item field 'choices'\) is missing"),
        ({"id": "x", "question": "q", "choices": ["a", "b"], "answer": 2}, r"row 1: column 'answer' = 2 is not an index into 2 choices"),
        ({"id": "x", "question": "q", "choices": ["a", ""], "answer": 0}, r"row 1: column 'choices' must be a list"),
    ],
)
def test_malformed_rows_name_file_row_and_column(tmp_path, row, message):
    spec = load_spec(str(write_spec(tmp_path)))
    (tmp_path / "items.jsonl").write_text(json.dumps(row) + "\n")
    with pytest.raises(UserError, match=message) as info:
        load_items(spec)
    assert "items.jsonl" in str(info.value)


def test_missing_data_says_which_file(tmp_path):
    spec = load_spec(str(write_spec(tmp_path)))
    (tmp_path / "items.jsonl").unlink()
    with pytest.raises(UserError, match="data file .*items.jsonl not found"):
        load_items(spec)


def test_variant_names_are_canonical():
    assert Variant.parse("hi+chat+shots=3+persona=india").name == "hi+persona=india+shots=3+chat"
    assert Variant.parse("en+nochat").name == Variant.parse("en").name == "en"
    with pytest.raises(UserError, match="cannot read 'shots=x'"):
        Variant.parse("en+shots=x")


def test_prefix_groups_share_the_longest_common_opening():
    shots = list(range(100, 110))  # ten tokens every prompt of a variant opens with
    rows = [Row(i, shots + [i, 7, 8], []) for i in range(6)]
    rows += [Row(6, [101, 102, 1, 2], []), Row(7, [101, 102, 3], [])]  # an item that is itself a shot
    rows.append(Row(8, shots[:4], []))  # a context ending inside the opening keeps its last token
    groups = prefix_groups(rows, min_saving=20)
    assert [(n, sorted(r.index for r in run)) for n, run in groups] == [(10, [0, 1, 2, 3, 4, 5]), (0, [6, 7, 8])]
    # Without enough to save, nothing is shared: the prefix pass would cost more than it spares.
    assert prefix_groups(rows, min_saving=60) == [(0, sorted(rows, key=lambda r: r.context))]


def test_shared_openings_are_run_once_and_score_like_the_reference(tiny):
    model, tok = tiny
    opening = "Answer as an average person from India would.\n\nQuestion: Which festival is the festival of lights?\nAnswer: Diwali\n\n"
    questions = ["Which river flows through Varanasi?", "Two plus two is?", "Which city is on the coast?", "Who wrote Gitanjali?",
                 "Which dance comes from Kerala?", "Which grain is ragi?"]
    prompts = [Prompt(f"{opening}Question: {q}\nAnswer:", [" Ganga", " four", " Mumbai", " Tagore"]) for q in questions]
    prompts.append(Prompt("Question: Which state is Goa?\nAnswer:", [" itself", " Kerala", " Assam", " Bihar"]))
    plain = Scorer(model, tok, token_budget=4096, pack_width=4096)  # the opening saves less than a pack: not shared
    shared = Scorer(model, tok, token_budget=256, pack_width=128)
    fast, slow = shared.loglik(prompts), plain.loglik(prompts)
    assert shared.positions < plain.positions - 4 * len(tok(opening)["input_ids"])
    for p, a, b in zip(prompts, fast, slow, strict=True):
        ref = [reference_loglik(model, shared, p.context, c) for c in p.continuations]
        assert [s for s, _ in a] == pytest.approx(ref, abs=1e-4)
        assert [s for s, _ in b] == pytest.approx(ref, abs=1e-4)
    letters = shared.letters(prompts, [4] * len(prompts))
    for p, scores in zip(prompts, letters, strict=True):
        assert scores == pytest.approx(plain_letters(model, shared, p), abs=1e-4)


def test_shots_are_the_same_for_every_item_but_never_the_item_itself(tmp_path):
    rows = [{"id": f"q{i}", "question": f"Question number {i}?", "choices": ["a", "b"], "answer": i % 2} for i in range(10)]
    spec = load_spec(str(write_spec(tmp_path, languages=["en"], prompts={"en": {"loglik": "{question}"}})))
    (tmp_path / "items.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    items = load_items(spec)
    picked = {it.id: [s.id for s in shots] for it, shots in zip(items, pick_shots(items, items, 3, spec.id), strict=True)}
    first = next(ids for item_id, ids in picked.items() if item_id not in ids and len(ids) == 3)
    for item_id, ids in picked.items():
        assert item_id not in ids and len(ids) == 3
        assert ids == first or ids == [s for s in first if s != item_id] + ids[-1:]
    assert sum(ids != first for ids in picked.values()) == 3  # only the three shot items see another


def test_rendered_prompts_golden(tmp_path, tiny_tokenizer):
    """Prompt drift changes scores silently; these strings pin the rendering."""
    spec = load_spec(str(write_spec(tmp_path)))
    items = load_items(spec)
    hi = next(it for it in items if it.lang == "hi" and it.id == "q1")
    p = build_prompt(hi, spec, Variant("hi").resolved(spec), [], tiny_tokenizer)
    assert p.context == "प्रश्न: रोशनी का त्योहार कौन-सा है?\nउत्तर:"
    assert p.continuations == [" होली", " दीवाली", " ओणम", " पोंगल"]
    en = next(it for it in items if it.lang == "en" and it.id == "q3")
    shot = next(it for it in items if it.lang == "en" and it.id == "q1")
    p = build_prompt(en, spec, Variant.parse("en+persona=india").resolved(spec), [shot], tiny_tokenizer)
    assert p.context == (
        "Answer as an average person from India would.\n\n"
        "Question: Which festival is the festival of lights?\nAnswer: Diwali\n\n"
        "Question: Two plus two is?\nAnswer:"
    )
    p = build_prompt(en, spec, Variant.parse("en+persona=india+chat").resolved(spec), [], tiny_tokenizer)
    assert p.context == (
        "<|im_start|>system\nAnswer as an average person from India would.<|im_end|>\n"
        "<|im_start|>user\nQuestion: Two plus two is?\nAnswer:<|im_end|>\n<|im_start|>assistant\n"
    )
    assert p.continuations == ["three", "four", "five", "twenty-two"]


def test_wilson_interval_matches_the_formula():
    low, high = wilson_interval(7, 10)
    # Hand computation: p=0.7, z=1.96: centre=(0.7+0.19208)/1.38415=0.64450, half=0.25080
    assert (low, high) == pytest.approx((0.39677, 0.89218), abs=1e-4)
    acc = accuracy([{"correct": True, "pred": 1}] * 3 + [{"correct": False, "pred": None}] + [{"correct": None, "pred": 0}])
    assert (acc.n, acc.correct, acc.unparsed) == (4, 3, 1) and acc.accuracy == 0.75


@pytest.mark.parametrize(
    ("text", "expected"),
    [("B", 1), (" (C) because", 2), ("Answer: D", 3), ("answer is a", 0), ("Diwali, of course", 1), ("I am not sure", None), ("E", None)],
)
def test_parse_answer(text, expected):
    assert parse_answer(text, ["Holi", "Diwali", "Onam", "Pongal"]) == expected


@pytest.mark.parametrize("name", ["india_recall", "control"])
def test_shipped_probe_sets_are_parallel_and_balanced(name):
    spec = load_spec(name)
    items = load_items(spec)
    by_lang = {lang: {it.id: it for it in items if it.lang == lang} for lang in spec.languages}
    en, hi = by_lang["en"], by_lang["hi"]
    assert en.keys() == hi.keys()
    assert all(en[k].answer == hi[k].answer and len(en[k].choices) == len(hi[k].choices) == 4 for k in en)
    assert all(any("\u0900" <= ch <= "\u097f" for ch in hi[k].question) for k in hi)
    counts = {a: sum(it.answer == a for it in en.values()) for a in range(4)}
    assert max(counts.values()) - min(counts.values()) <= 0.05 * len(en)  # no answer position favoured
    if name == "india_recall":
        assert len(en) >= 400 and len({it.category for it in en.values()}) >= 8
    else:
        assert len(en) >= 200


def test_generate_scoring_counts_unparsed_answers(tiny_model, tmp_path):
    spec = load_spec(str(write_spec(tmp_path, max_new_tokens=4)))
    result = evaluate(str(tiny_model), [spec], ["en+scoring=generate"], store=ResultStore(tmp_path / "s.sqlite"), progress=False)
    responses = result.runs[0].responses
    assert len(responses) == 3 and all(isinstance(r["scores"]["text"], str) for r in responses)
    for r in responses:  # each stored prediction is what the parser reads from the stored text
        item = next(it for it in load_items(spec) if it.key == r["item"])
        assert r["pred"] == parse_answer(r["scores"]["text"], item.choices)
    metrics = result.runs[0].metrics()["overall"]
    assert metrics["unparsed"] == sum(r["pred"] is None for r in responses)
    assert metrics["n"] == 3


def test_editing_a_persona_text_rescoring_only_that_persona(tiny_model, tmp_path, monkeypatch):
    import tuner.evals.prompts as prompts

    spec = load_spec(str(write_spec(tmp_path)))
    store = ResultStore(tmp_path / "s.sqlite")
    evaluate(str(tiny_model), [spec], ["en", "en+persona=india"], store=store, progress=False)
    original = prompts.load_yaml
    monkeypatch.setattr(prompts, "load_yaml", lambda path: {**original(path), "india": {"en": "Reply like someone from India."}})
    again = evaluate(str(tiny_model), [spec], ["en", "en+persona=india"], store=store, progress=False)
    assert [r.scored_now for r in again.runs] == [0, 3]
