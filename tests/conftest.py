"""Shared fixtures: a tiny Llama model with a real byte-level BPE tokenizer and a ChatML template,
built in the test session (no download), and small datasets in tuner's input formats."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

# One thread per test process: the suite runs beside other work on a 2-core machine.
os.environ.setdefault("TUNER_NUM_THREADS", "1")

CHATML = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

CORPUS = [
    "The capital of India is New Delhi. Diwali is the festival of lights.",
    "भारत की राजधानी नई दिल्ली है। दीवाली रोशनी का त्योहार है।",
    "Namaste means a respectful greeting. नमस्ते एक सम्मानजनक अभिवादन है।",
    "Two plus two is four. दो और दो चार होते हैं।",
    "The Ganga flows through Varanasi. गंगा वाराणसी से होकर बहती है।",
    "Answer: A Answer: B Answer: C Answer: D उत्तर: A उत्तर: B उत्तर: C उत्तर: D",
]

CHATS = [
    [{"role": "user", "content": "भारत की राजधानी क्या है?"}, {"role": "assistant", "content": "भारत की राजधानी नई दिल्ली है।"}],
    [{"role": "user", "content": "What is Diwali?"}, {"role": "assistant", "content": "Diwali is the festival of lights."}],
    [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": "दो और दो?"},
        {"role": "assistant", "content": "चार।"},
        {"role": "user", "content": "And in English?"},
        {"role": "assistant", "content": "Four."},
    ],
    [{"role": "user", "content": "नमस्ते का अर्थ?"}, {"role": "assistant", "content": "नमस्ते एक सम्मानजनक अभिवादन है।"}],
]


def build_tiny_model(folder: Path, seed: int = 0) -> Path:
    """A 2-layer Llama (~60k parameters) and a 400-token byte-level BPE tokenizer trained on CORPUS."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(CORPUS * 4 + [m["content"] for c in CHATS for m in c], trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|im_end|>", bos_token="<|im_start|>",
        unk_token="<|endoftext|>",
    )
    fast.chat_template = CHATML
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(fast), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=512, tie_word_embeddings=True,
        bos_token_id=fast.bos_token_id, eos_token_id=fast.eos_token_id, pad_token_id=fast.pad_token_id,
    )
    LlamaForCausalLM(config).save_pretrained(folder)
    fast.save_pretrained(folder)
    return folder


def weights(run: Path) -> dict:
    """The trained tensors a run folder holds: its LoRA adapter, or else its whole model."""
    from safetensors.torch import load_file

    name = "adapter_model.safetensors" if (run / "adapter_model.safetensors").is_file() else "model.safetensors"
    return load_file(run / name)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny_model"))


@pytest.fixture(scope="session")
def tiny_tokenizer(tiny_model):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model)


@pytest.fixture
def chat_file(tmp_path) -> Path:
    path = tmp_path / "chat.jsonl"
    path.write_text("".join(json.dumps({"messages": c}, ensure_ascii=False) + "\n" for c in CHATS * 3), encoding="utf-8")
    return path


@pytest.fixture
def text_file(tmp_path) -> Path:
    path = tmp_path / "corpus.txt"
    path.write_text("\n\n".join(CORPUS * 2 + [" ".join(CORPUS * 6)]), encoding="utf-8")
    return path


def write_recipe(tmp_path: Path, body: dict) -> Path:
    """A recipe file from a dict (yaml is a superset of json)."""
    path = tmp_path / "recipe.yaml"
    path.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture
def tiny_recipe(tmp_path, tiny_model, chat_file):
    """A valid LoRA chat recipe over the tiny model; tests override what they exercise."""

    def make(**sections) -> Path:
        body = {
            "model": {"name": str(tiny_model)},
            "method": {"kind": "lora", "r": 4, "lora_alpha": 8, "lora_dropout": 0.0},
            "data": {"sources": [{"path": str(chat_file), "format": "chat"}]},
            "training": {
                "max_steps": 4, "per_device_train_batch_size": 2, "max_length": 64, "logging_steps": 1,
                "save_steps": 2, "learning_rate": 1e-2, "warmup_steps": 0, "lr_scheduler_type": "constant",
            },
            "output": {"dir": str(tmp_path / "run")},
            "runtime": {"threads": 1},
        }
        for key, value in sections.items():  # training/runtime keys merge; other sections are replaced
            body[key] = {**body[key], **value} if key in ("training", "runtime") else value
        return write_recipe(tmp_path, body)

    return make
