"""A randomly initialised Qwen2-architecture base and its tokenizer, for pretraining from scratch.

    tokenizer = train_tokenizer(english_docs + target_docs, vocab_size=4096)
    config = ScratchConfig.preset("tiny", seed=1)
    build_scratch_model(config, tokenizer, Path("bases/tiny-en"))

The tokenizer is trained on every corpus of the study, the target language included, so the target
script has merges of its own even though the base model only ever sees English: continued
pretraining then tests what the model learns, not how badly its tokenizer splits the new script.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tuner.errors import UserError

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedTokenizerBase, PreTrainedTokenizerFast

    from tuner.recipe import Recipe

EOS = "<|endoftext|>"


def train_tokenizer(texts: Iterable[str], vocab_size: int) -> PreTrainedTokenizerFast:
    """A byte-level BPE with `<|endoftext|>` as its only special token (eos, bos, pad and unk).

    The 256 byte symbols are in the vocabulary from the start, so any text, in any script, seen in
    training or not, encodes and decodes back exactly. No BOS is added when encoding. A small corpus
    can end with fewer than `vocab_size` tokens.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[EOS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=EOS, bos_token=EOS, pad_token=EOS, unk_token=EOS)


class ScratchConfig(BaseModel):
    """Qwen2 dimensions of a from-scratch model; names as in `transformers.Qwen2Config`."""

    model_config = ConfigDict(extra="forbid")

    hidden_size: int = Field(..., gt=0, description="Width of the residual stream.")
    num_hidden_layers: int = Field(..., gt=0, description="Number of transformer blocks.")
    num_attention_heads: int = Field(..., gt=0, description="Query heads; must divide hidden_size.")
    num_key_value_heads: int = Field(..., gt=0, description="Key/value heads (grouped-query attention); must divide num_attention_heads.")
    intermediate_size: int = Field(..., gt=0, description="Width of the SwiGLU MLP.")
    max_position_embeddings: int = Field(..., gt=0, description="Longest sequence the rotary embedding is configured for.")
    vocab_size: int = Field(
        ..., gt=0, description="Vocabulary to train the tokenizer with; the model takes the trained tokenizer's actual size."
    )
    tie_word_embeddings: bool = Field(True, description="Share input and output embeddings (as Qwen2-0.5B does).")
    seed: int = Field(0, description="Seed of the random initialisation; the same seed gives identical weights.")

    @model_validator(mode="after")
    def _heads_divide(self) -> ScratchConfig:
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(f"num_attention_heads={self.num_attention_heads} must divide hidden_size={self.hidden_size}")
        if self.num_attention_heads % self.num_key_value_heads:
            raise ValueError(
                f"num_key_value_heads={self.num_key_value_heads} must divide num_attention_heads={self.num_attention_heads}"
            )
        return self

    @classmethod
    def preset(cls, name: Literal["tiny", "small", "0.5b"], **overrides: object) -> ScratchConfig:
        """A named size, with any field replaced by `overrides`."""
        if name not in PRESETS:
            raise UserError(f"scratch preset {name!r}: expected one of {', '.join(PRESETS)}")
        return cls(**{**PRESETS[name], **overrides})


# Parameter counts are with the preset's vocab_size and tied embeddings.
PRESETS: dict[str, dict[str, int]] = {
    # 1.31M: trains in minutes on a CPU; for tests and pipeline checks.
    "tiny": dict(
        hidden_size=128, num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2,
        intermediate_size=384, max_position_embeddings=1024, vocab_size=4096,
    ),
    # 16.6M: small enough for many seeds of an ablation on one GPU.
    "small": dict(
        hidden_size=384, num_hidden_layers=6, num_attention_heads=6, num_key_value_heads=2,
        intermediate_size=1152, max_position_embeddings=2048, vocab_size=16384,
    ),
    # 494M: Qwen2-0.5B's dimensions; the embedding alone is 136M of it at this vocabulary.
    "0.5b": dict(
        hidden_size=896, num_hidden_layers=24, num_attention_heads=14, num_key_value_heads=2,
        intermediate_size=4864, max_position_embeddings=32768, vocab_size=151936,
    ),
}


def count_parameters(model: torch.nn.Module) -> int:
    """Distinct parameters (tied embeddings counted once)."""
    return sum(p.numel() for p in model.parameters())


def build_scratch_model(config: ScratchConfig, tokenizer: PreTrainedTokenizerBase, out_dir: Path) -> Path:
    """A randomly initialised Qwen2ForCausalLM saved with `tokenizer` into `out_dir` (safetensors)."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    if out_dir.exists() and any(out_dir.iterdir()):
        raise UserError(f"{out_dir} already exists and is not empty; remove it or choose another folder")
    if tokenizer.eos_token_id is None:
        raise UserError("the tokenizer has no EOS token; a pretraining base needs one to end documents")
    qwen = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=config.hidden_size,
        intermediate_size=config.intermediate_size,
        num_hidden_layers=config.num_hidden_layers,
        num_attention_heads=config.num_attention_heads,
        num_key_value_heads=config.num_key_value_heads,
        max_position_embeddings=config.max_position_embeddings,
        tie_word_embeddings=config.tie_word_embeddings,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(config.seed)
    model = Qwen2ForCausalLM(qwen)

    # Write beside the target and rename, so an interrupted save never leaves a loadable half-model.
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        tmp.rename(out_dir)  # replaces an empty out_dir on POSIX
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def read_corpus(path: Path) -> list[str]:
    """Documents of a .txt (blank-line separated) or .jsonl (a 'text' field per line) corpus."""
    import json

    from tuner.data.sources import read_text_documents

    if not path.is_file():
        raise UserError(f"model.scratch.tokenizer_corpora: {path} does not exist (paths start at the recipe's folder)")
    if path.suffix == ".txt":
        return read_text_documents(path)
    if path.suffix == ".jsonl":
        return [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    raise UserError(f"model.scratch.tokenizer_corpora: {path.name}: expected .txt or .jsonl")


def build_from_recipe(recipe: Recipe, out_dir: Path) -> Path:
    """The initial model of a `model.scratch` recipe: tokenizer trained on its corpora, random weights."""
    scratch = recipe.model.scratch
    assert scratch is not None
    texts = [doc for name in scratch.tokenizer_corpora for doc in read_corpus((recipe.base_dir / name).resolve())]
    from pydantic import ValidationError

    try:
        config = ScratchConfig.preset(scratch.size, **{**scratch.config, "vocab_size": scratch.vocab_size, "seed": scratch.seed})
    except ValidationError as e:
        first = e.errors()[0]
        raise UserError(f"model.scratch.config: {'.'.join(map(str, first['loc']))}: {first['msg']}") from None
    return build_scratch_model(config, train_tokenizer(texts, config.vocab_size), out_dir)
