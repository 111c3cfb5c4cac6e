"""Tokenisation with explicit loss masks and no silent truncation.

Chat: the tokenizer's own chat template renders the conversation once; tokens are marked trainable
when their characters fall inside an assistant turn (its content and end-of-turn marker). Turn
spans come from rendering growing prefixes of the conversation, so any prefix-stable template works.

Text: each document (plus EOS) is cut into consecutive windows of at most `max_length` tokens, so
long documents are kept whole across windows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from tuner.errors import UserError

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

IGNORE = -100  # label value the loss skips (torch CrossEntropy ignore_index)


@dataclass
class Tokenized:
    input_ids: list[int]
    labels: list[int]
    status: Literal["ok", "truncated", "dropped"] = "ok"


def assistant_spans(messages: list[dict[str, str]], tokenizer: PreTrainedTokenizerBase) -> tuple[str, list[tuple[int, int]]]:
    """The rendered conversation and the character spans of its assistant turns."""
    text = tokenizer.apply_chat_template(messages, tokenize=False)
    spans = []
    for i, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        before = tokenizer.apply_chat_template(messages[:i], tokenize=False, add_generation_prompt=True) if i else ""
        through = tokenizer.apply_chat_template(messages[: i + 1], tokenize=False)
        if not (text.startswith(before) and text.startswith(through)):
            raise UserError(
                f"the chat template of '{tokenizer.name_or_path}' renders a conversation differently from its "
                "prefixes, so assistant turns cannot be located; use format 'text' or a prefix-stable template"
            )
        spans.append((len(before), len(through)))
    return text, spans


def tokenize_chat(
    messages: list[dict[str, str]],
    tokenizer: PreTrainedTokenizerBase,
    max_length: int,
    policy: Literal["truncate", "drop", "error"],
) -> Tokenized:
    text, spans = assistant_spans(messages, tokenizer)
    # The template already wrote any BOS/special tokens; adding them again would double them.
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids = enc["input_ids"]
    labels = [
        tok if any(start <= s < end for start, end in spans) else IGNORE
        for tok, (s, _) in zip(ids, enc["offset_mapping"], strict=True)
    ]
    if len(ids) <= max_length:
        return Tokenized(ids, labels)
    if policy == "error":
        raise UserError(
            f"an example has {len(ids)} tokens > training.max_length={max_length}; raise max_length or set "
            "training.truncation to truncate or drop"
        )
    if policy == "drop":
        return Tokenized([], [], "dropped")
    ids, labels = ids[:max_length], labels[:max_length]
    if all(label == IGNORE for label in labels):  # the cut removed every assistant token
        return Tokenized([], [], "dropped")
    return Tokenized(ids, labels, "truncated")


def text_windows(text: str, tokenizer: PreTrainedTokenizerBase, max_length: int) -> list[list[int]]:
    """A document as consecutive windows of at most `max_length` tokens, EOS closing the last."""
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    if tokenizer.bos_token_id is not None and getattr(tokenizer, "add_bos_token", False):
        ids = [tokenizer.bos_token_id, *ids]
    ids.append(tokenizer.eos_token_id)
    return [ids[i : i + max_length] for i in range(0, len(ids), max_length)]
