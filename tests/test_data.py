"""Chat formatting and loss masks, text windows, truncation policies, weighting and packing counts."""

from __future__ import annotations

import json

import pytest

from tests.conftest import CHATS
from tuner.data.build import build_datasets
from tuner.data.formats import to_messages
from tuner.data.inspect import packing_stats
from tuner.data.tokenize import IGNORE, text_windows, tokenize_chat
from tuner.errors import UserError
from tuner.recipe import load_recipe


def trained_text(tok, ids, labels) -> str:
    return tok.decode([t for t, label in zip(ids, labels) if label != IGNORE])


def test_loss_mask_covers_exactly_the_assistant_turns(tiny_tokenizer):
    out = tokenize_chat(CHATS[2], tiny_tokenizer, 512, "truncate")
    assert out.status == "ok"
    assert trained_text(tiny_tokenizer, out.input_ids, out.labels) == "चार।<|im_end|>\nFour.<|im_end|>\n"
    # Every token is either trained with its own id or masked.
    assert all(label in (tok, IGNORE) for tok, label in zip(out.input_ids, out.labels))
    # The rendered conversation is tokenised whole: decoding all ids gives the template's text back.
    assert tiny_tokenizer.decode(out.input_ids) == tiny_tokenizer.apply_chat_template(CHATS[2], tokenize=False)


def test_instruction_rows_become_a_user_assistant_chat():
    mapping = {"instruction": "q", "input": "ctx", "output": "a"}
    msgs = to_messages({"q": "Translate", "ctx": "नमस्ते", "a": "Hello"}, "instruction", mapping, "row 0")
    assert msgs == [{"role": "user", "content": "Translate\n\nनमस्ते"}, {"role": "assistant", "content": "Hello"}]
    msgs = to_messages({"q": "Say hi", "ctx": "", "a": "Hi"}, "instruction", mapping, "row 1")
    assert msgs[0]["content"] == "Say hi"


def test_chat_must_end_with_the_assistant():
    with pytest.raises(UserError, match="row 4: the last message must be the assistant's"):
        to_messages({"messages": [{"role": "user", "content": "hi"}]}, "chat", {"messages": "messages"}, "row 4")


def test_truncation_policies(tiny_tokenizer):
    conv = CHATS[2]
    full = tokenize_chat(conv, tiny_tokenizer, 512, "truncate")
    n = len(full.input_ids)
    cut = tokenize_chat(conv, tiny_tokenizer, n - 3, "truncate")
    assert cut.status == "truncated" and cut.input_ids == full.input_ids[: n - 3]
    assert tokenize_chat(conv, tiny_tokenizer, n - 3, "drop").status == "dropped"
    with pytest.raises(UserError, match="raise max_length or set training.truncation"):
        tokenize_chat(conv, tiny_tokenizer, n - 3, "error")
    # Cutting away every assistant token leaves nothing to learn: counted as dropped, not kept.
    first_trained = next(i for i, label in enumerate(full.labels) if label != IGNORE)
    assert tokenize_chat(conv, tiny_tokenizer, first_trained, "truncate").status == "dropped"


def test_text_windows_keep_every_token(tiny_tokenizer):
    text = " ".join(["भारत की राजधानी नई दिल्ली है।"] * 20)
    windows = text_windows(text, tiny_tokenizer, 16)
    flat = [t for w in windows for t in w]
    assert flat == tiny_tokenizer(text, add_special_tokens=False)["input_ids"] + [tiny_tokenizer.eos_token_id]
    assert all(len(w) <= 16 for w in windows) and len(windows) > 3


def test_build_counts_truncation_and_windows(tiny_recipe, text_file, chat_file, tiny_tokenizer):
    recipe = load_recipe(
        str(tiny_recipe(data={"sources": [{"path": str(chat_file), "format": "chat"}, {"path": str(text_file), "format": "text"}]})),
        ["training.max_length=24", "training.truncation=truncate"],
    )
    data = build_datasets(recipe, tiny_tokenizer)
    chat, text = data.sources
    lengths = [len(tokenize_chat(c, tiny_tokenizer, 10_000, "truncate").input_ids) for c in CHATS * 3]
    assert chat.truncated + chat.dropped == sum(n > 24 for n in lengths)
    assert chat.examples == len(lengths) - chat.dropped
    assert text.split_documents >= 1
    assert max(len(x) for x in data.train["input_ids"]) <= 24
    # No text token is lost to windowing.
    docs = [d for d in text_file.read_text().split("\n\n")]
    expected = sum(len(tiny_tokenizer(d, add_special_tokens=False)["input_ids"]) + 1 for d in docs)
    assert text.tokens == expected


def test_weights_and_eval_hold_out_do_not_leak(tiny_recipe, tmp_path, tiny_tokenizer):
    rows = [{"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"a{i}"}]} for i in range(20)]
    path = tmp_path / "many.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    recipe = load_recipe(
        str(tiny_recipe(data={"sources": [{"path": str(path), "format": "chat", "weight": 2.5}], "eval_fraction": 0.2}))
    )
    data = build_datasets(recipe, tiny_tokenizer)
    report = data.sources[0]
    assert report.eval_rows == 4 and report.train_rows == 16 * 2 + 8
    train_seqs = {tuple(x) for x in data.train["input_ids"]}
    eval_seqs = {tuple(x) for x in data.eval["input_ids"]}
    assert not train_seqs & eval_seqs


def test_missing_column_names_the_source_and_fix(tiny_recipe, tmp_path, tiny_tokenizer):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"conversation": []}) + "\n")
    recipe = load_recipe(str(tiny_recipe(data={"sources": [{"path": str(path), "format": "chat"}]})))
    with pytest.raises(UserError, match=r"data.sources.0: format 'chat' needs column\(s\) messages -> 'messages'.*data.sources.0.columns"):
        build_datasets(recipe, tiny_tokenizer)


def test_packing_fill_is_measured(tiny_recipe, tiny_tokenizer):
    recipe = load_recipe(str(tiny_recipe()), ["training.max_length=256"])
    data = build_datasets(recipe, tiny_tokenizer)
    stats = packing_stats(data, recipe)
    assert stats.tokens == sum(len(x) for x in data.train["input_ids"])
    assert stats.sequences < len(data.train)  # several examples share a sequence
    assert stats.fill == pytest.approx(stats.tokens / (stats.sequences * 256))


def test_loss_mask_rendering_decodes_whole_runs(tiny_tokenizer):
    from tuner.data.inspect import render_loss_mask

    out = tokenize_chat(CHATS[2], tiny_tokenizer, 512, "truncate")
    text = render_loss_mask(out.input_ids, out.labels, tiny_tokenizer)
    assert text.plain == tiny_tokenizer.decode(out.input_ids)
    trained = "".join(text.plain[span.start : span.end] for span in text.spans if "green" in str(span.style))
    assert trained == "चार।<|im_end|>\nFour.<|im_end|>\n"
