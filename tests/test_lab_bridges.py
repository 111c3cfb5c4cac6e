"""Bridge corpora, the script filter and the from-scratch base: hand-checked small cases."""

from __future__ import annotations

import json

import pytest

from tuner.data.bridges import build_bridge_corpora, check_same_tokens, token_multiset, write_bridge_corpora
from tuner.data.script import non_latin_letters
from tuner.errors import UserError
from tuner.lab.scratch import EOS, ScratchConfig, build_scratch_model, count_parameters, train_tokenizer

MONO = ["საქართველო ძველი ქვეყანაა.", "საქართველოში ბევრი მთაა."]
PAIRS = [
    ("Tbilisi is the capital of Georgia.", "თბილისი საქართველოს დედაქალაქია."),
    ("Hello, how are you?", "გამარჯობა, როგორ ხარ?"),
    ("The Georgian language is beautiful.", "ქართული ენა ლამაზია."),
]
ENGLISH = [
    "The mountains of the Caucasus are high and old.",
    "Many people visit the capital in the summer.",
    "The language has its own alphabet and a long history.",
]


@pytest.fixture(scope="module")
def tokenizer():
    texts = ENGLISH + MONO + [side for pair in PAIRS for side in pair]
    return train_tokenizer(texts * 5, vocab_size=600)


# --- bridges -------------------------------------------------------------------------------------


def test_bridge_corpora_hold_the_expected_documents():
    corpora = build_bridge_corpora(MONO, PAIRS, separator=EOS, seed=3)
    assert len(corpora.with_bridges) == 5
    assert len(corpora.without_bridges) == 8
    assert sorted(corpora.with_bridges) == sorted(
        [
            "საქართველო ძველი ქვეყანაა.",
            "საქართველოში ბევრი მთაა.",
            "Tbilisi is the capital of Georgia.<|endoftext|>თბილისი საქართველოს დედაქალაქია.",
            "Hello, how are you?<|endoftext|>გამარჯობა, როგორ ხარ?",
            "The Georgian language is beautiful.<|endoftext|>ქართული ენა ლამაზია.",
        ]
    )
    assert sorted(corpora.without_bridges) == sorted(
        [
            "საქართველო ძველი ქვეყანაა.",
            "საქართველოში ბევრი მთაა.",
            "Tbilisi is the capital of Georgia.",
            "თბილისი საქართველოს დედაქალაქია.",
            "Hello, how are you?",
            "გამარჯობა, როგორ ხარ?",
            "The Georgian language is beautiful.",
            "ქართული ენა ლამაზია.",
        ]
    )
    pair_docs = [doc for doc in corpora.with_bridges if doc not in MONO]
    assert sorted(pair_docs) == sorted(en + EOS + tgt for en, tgt in PAIRS)


def test_bridge_corpora_are_deterministic_and_keep_pairs_apart():
    partner = {en: tgt for en, tgt in PAIRS} | {tgt: en for en, tgt in PAIRS}
    orders = set()
    for seed in range(40):
        corpora = build_bridge_corpora(MONO, PAIRS, separator=EOS, seed=seed)
        assert corpora == build_bridge_corpora(MONO, PAIRS, separator=EOS, seed=seed)
        docs = corpora.without_bridges
        assert all(partner.get(a) != b for a, b in zip(docs, docs[1:]))
        orders.add(tuple(docs))
    assert len(orders) > 1  # the seed matters


def test_pairs_without_room_to_separate_are_refused():
    with pytest.raises(UserError, match="apart"):
        build_bridge_corpora([], PAIRS[:1], separator=EOS, seed=0)


def test_eos_separator_gives_identical_token_multisets(tokenizer, tmp_path):
    corpora = build_bridge_corpora(MONO, PAIRS, separator=tokenizer.eos_token, seed=0)
    check_same_tokens(corpora, tokenizer, max_length=8)  # short windows: documents span several
    with_counts = token_multiset(corpora.with_bridges, tokenizer, 8)
    assert with_counts == token_multiset(corpora.without_bridges, tokenizer, 8)
    assert with_counts[tokenizer.eos_token_id] == 8  # 2 monolingual + 3 pairs x 2 sides

    with_path, without_path = write_bridge_corpora(corpora, tmp_path / "out")
    assert [json.loads(line)["text"] for line in with_path.read_text(encoding="utf-8").splitlines()] == corpora.with_bridges
    assert [json.loads(line)["text"] for line in without_path.read_text(encoding="utf-8").splitlines()] == corpora.without_bridges
    assert "საქართველო" in without_path.read_text(encoding="utf-8")  # written as UTF-8, not \\u escapes


def test_space_separator_is_refused(tokenizer):
    # Bridged by a space, each pair loses one EOS: 2 + 3 = 5 with bridges against 2 + 6 = 8 without,
    # and EOS is token 0, the lowest id, so it is the one named.
    corpora = build_bridge_corpora(MONO, PAIRS, separator=" ", seed=0)
    with pytest.raises(UserError, match=r"token 0 \('<\|endoftext\|>'\) occurs 5 times with bridges and 8 without"):
        check_same_tokens(corpora, tokenizer, max_length=64)


# --- script filter -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Café au lait, naïve résumé 123!", 0),  # accented Latin is Latin; digits, punctuation ignored
        ("नमस्ते", 4),  # न म स त; the virama and vowel sign are marks, not letters
        ("გამარჯობა", 9),
        ("Привет, мир!", 9),
        ("Hello мир 42.", 3),
    ],
)
def test_non_latin_letters(text, expected):
    assert non_latin_letters(text) == expected


DOCS = ["Café crème.", "Привет, мир!", "Tea 2 go", "नमस्ते दुनिया"]  # non-Latin letters: 0, 9, 0, 7


@pytest.mark.parametrize(("action", "kept"), [("drop", 2), ("report", 4)])
def test_latin_only_source_drops_or_counts(tiny_recipe, tiny_tokenizer, tmp_path, action, kept):
    from tuner.data.build import build_datasets
    from tuner.recipe import load_recipe

    corpus = tmp_path / "mixed.jsonl"
    corpus.write_text("".join(json.dumps({"text": d}, ensure_ascii=False) + "\n" for d in DOCS), encoding="utf-8")
    source = {"path": str(corpus), "format": "text", "latin_only": action}
    data = build_datasets(load_recipe(str(tiny_recipe(data={"sources": [source]}))), tiny_tokenizer)
    assert data.sources[0].non_latin == 2
    assert len(data.train) == kept


# --- tokenizer and from-scratch model ------------------------------------------------------------


@pytest.mark.parametrize("text", ["The capital of Georgia is Tbilisi.", "თბილისი საქართველოს დედაქალაქია.", "ᠮᠣᠩᠭᠣᠯ unseen script"])
def test_tokenizer_round_trips(tokenizer, text):
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert tokenizer.decode(ids) == text


def test_tokenizer_merges_the_target_script(tokenizer):
    word = "საქართველო"  # 10 letters, 30 UTF-8 bytes, frequent in the training texts
    assert len(tokenizer(word, add_special_tokens=False)["input_ids"]) < len(word.encode("utf-8"))
    assert tokenizer.eos_token == EOS
    assert tokenizer.eos_token_id == tokenizer.pad_token_id == tokenizer.convert_tokens_to_ids(EOS)


def test_tiny_scratch_model_builds_and_loads(tokenizer, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    config = ScratchConfig.preset("tiny", seed=7)
    folder = build_scratch_model(config, tokenizer, tmp_path / "base")
    assert folder == tmp_path / "base"
    assert (folder / "model.safetensors").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["base"]  # no temporary folder left behind

    model = AutoModelForCausalLM.from_pretrained(folder)
    loaded_tok = AutoTokenizer.from_pretrained(folder)
    assert model.config.model_type == "qwen2"
    assert model.config.eos_token_id == loaded_tok.eos_token_id == tokenizer.eos_token_id
    ids = torch.tensor([loaded_tok("Hello, how are you?", add_special_tokens=False)["input_ids"]])
    with torch.no_grad():
        logits = model(ids).logits
    assert logits.shape == (1, ids.shape[1], len(tokenizer))
    # Per layer: q 128x128+128, k and v 128x64+64 each, o 128x128 (49,408); MLP 3x128x384 (147,456);
    # two norms (256) -> 197,120; 4 layers + final norm = 788,608, plus the tied embedding vocab x 128.
    assert count_parameters(model) == 788_608 + len(tokenizer) * 128
    assert 1_000_000 <= 788_608 + config.vocab_size * 128 <= 3_000_000  # 1,312,896 at the preset's vocabulary

    again = AutoModelForCausalLM.from_pretrained(build_scratch_model(config, tokenizer, tmp_path / "again"))
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values(), strict=True))
    other = AutoModelForCausalLM.from_pretrained(
        build_scratch_model(config.model_copy(update={"seed": 8}), tokenizer, tmp_path / "other")
    )
    assert not torch.equal(model.lm_head.weight, other.lm_head.weight)


def test_scratch_refuses_a_non_empty_folder(tokenizer, tmp_path):
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "keep.txt").write_text("x")
    with pytest.raises(UserError, match="not empty"):
        build_scratch_model(ScratchConfig.preset("tiny"), tokenizer, tmp_path / "base")


def test_scratch_config_checks_heads():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="must divide hidden_size"):
        ScratchConfig.preset("tiny", num_attention_heads=5)
    with pytest.raises(ValidationError, match="extra"):
        ScratchConfig.preset("tiny", hidden=64)
