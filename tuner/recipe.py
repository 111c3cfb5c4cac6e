"""The training recipe: one pydantic model per YAML section, unknown keys refused.

Field names follow the upstream libraries (transformers `TrainingArguments`, peft `LoraConfig`,
trl `SFTConfig`) so a user who knows them knows tuner. Defaults that differ from upstream:
- `training.learning_rate` is 2e-4 (trl: 2e-5), the usual LoRA rate; full recipes set their own.
- `training.activation_checkpointing` (gradient checkpointing) is off (trl: on): small models on CPU train faster without it.
- `training.packing` uses trl's `bfd` strategy on examples tuner has already cut to `max_length`,
  so nothing is silently truncated (trl's own `bfd` truncates long documents).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tuner.config import load_config
from tuner.errors import UserError
from tuner.paths import find_shipped


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelSection(_Section):
    name: str = Field(
        "smollm2-135m-instruct",
        description="Model reference: the embedded alias, a hub id, a local HF folder or a tuner run folder.",
    )
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        "auto", description="Weight dtype. auto: float32 on CPU (bf16 is slower there), bfloat16 on GPUs that have it."
    )
    revision: str | None = Field(None, description="Hub revision (branch, tag or commit); None: the default branch.")
    trust_remote_code: bool = Field(False, description="Allow model code from the hub repository.")
    scratch: ScratchSection | None = Field(
        None, description="Pretrain from scratch: a new Qwen2 model and tokenizer (model.name is then ignored)."
    )


class ScratchSection(_Section):
    size: Literal["tiny", "small", "0.5b"] = Field("tiny", description="Qwen2 size preset (tuner.lab.scratch.PRESETS).")
    config: dict[str, int] = Field(default_factory=dict, description="Preset fields to change: hidden_size, num_hidden_layers, ...")
    vocab_size: int = Field(4096, gt=256, description="Byte-level BPE vocabulary to train (the 256 bytes included).")
    tokenizer_corpora: list[str] = Field(
        ..., min_length=1,
        description="Text files (.txt or .jsonl with 'text') the tokenizer learns from, relative to the recipe; give "
        "every language the model will ever see, so later scripts get merges of their own.",
    )
    seed: int = Field(0, description="Seed of the random initial weights.")


class LoraSection(_Section):
    kind: Literal["lora"] = "lora"
    r: int = Field(16, gt=0, description="LoRA rank; higher: more capacity and memory.")
    lora_alpha: float = Field(32, gt=0, description="LoRA scaling numerator (scale = lora_alpha / r).")
    lora_dropout: float = Field(0.05, ge=0, lt=1, description="Dropout on the LoRA input.")
    target_modules: str | list[str] = Field(
        "all-linear", description="Modules to adapt: 'all-linear' or a list of module names (q_proj, v_proj, ...)."
    )


class QLoraSection(LoraSection):
    kind: Literal["qlora"] = "qlora"  # type: ignore[assignment]
    bnb_4bit_quant_type: Literal["nf4", "fp4"] = Field("nf4", description="4-bit data type of the frozen base.")
    bnb_4bit_use_double_quant: bool = Field(True, description="Quantise the quantisation constants too (saves ~0.4 bit/param).")


class FullSection(_Section):
    kind: Literal["full"] = "full"


Method = Annotated[LoraSection | QLoraSection | FullSection, Field(discriminator="kind")]


class SourceSection(_Section):
    path: str | None = Field(None, description="Local file (.jsonl, .json, .csv, .parquet, .txt), relative to the recipe file.")
    hub: str | None = Field(None, description="Hub dataset id, e.g. 'org/name'.")
    config: str | None = Field(None, description="Hub dataset config name.")
    split: str = Field("train", description="Split to read.")
    format: Literal["chat", "instruction", "text"] = Field(
        ..., description="chat: a list of messages; instruction: instruction/input/output; text: raw text."
    )
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="Map tuner's names to the file's columns: messages | instruction, input, output | text.",
    )
    weight: float = Field(1.0, gt=0, description="Sampling weight: 2.0 repeats each example twice, 0.5 keeps half.")
    max_samples: int | None = Field(None, gt=0, description="Keep at most this many examples (before weighting).")
    latin_only: Literal["off", "drop", "report"] = Field(
        "off", description="Text sources: drop (or only count) documents with non-Latin letters, e.g. for an English-only base."
    )

    @model_validator(mode="after")
    def _one_origin(self) -> SourceSection:
        if (self.path is None) == (self.hub is None):
            raise ValueError("give exactly one of 'path' (a local file) or 'hub' (a dataset id)")
        if self.latin_only != "off" and self.format != "text":
            raise ValueError("latin_only applies to format 'text' sources")
        return self


class DataSection(_Section):
    sources: list[SourceSection] = Field(..., min_length=1, description="One or more datasets, mixed by weight.")
    eval_fraction: float = Field(0.0, ge=0, lt=1, description="Share of examples held out for evaluation (0: none).")


class TrainingSection(_Section):
    num_train_epochs: float = Field(1.0, gt=0, description="Epochs; ignored when max_steps > 0.")
    max_steps: int = Field(-1, description="Optimizer steps; -1: run num_train_epochs.")
    learning_rate: float = Field(2e-4, gt=0, description="Peak learning rate (trl's default is 2e-5).")
    lr_scheduler_type: Literal["linear", "cosine", "constant", "constant_with_warmup", "cosine_with_min_lr"] = "cosine"
    warmup_steps: int = Field(0, ge=0, description="Linear warm-up steps.")
    weight_decay: float = Field(0.0, ge=0)
    max_grad_norm: float = Field(1.0, gt=0)
    per_device_train_batch_size: int = Field(4, gt=0, description="Sequences per device per micro-step.")
    gradient_accumulation_steps: int = Field(
        1, gt=0, description="Micro-steps per optimizer step (effective batch = per-device x accumulation x world size)."
    )
    max_length: int = Field(512, gt=8, description="Tokens per training sequence.")
    packing: bool = Field(True, description="Pack examples into full sequences (padding-free, documents kept apart).")
    truncation: Literal["truncate", "drop", "error"] = Field(
        "truncate",
        description="Chat/instruction examples longer than max_length: cut, drop, or stop. Text is always split into windows.",
    )
    seed: int = 42
    logging_steps: int = Field(5, gt=0)
    eval_steps: int | None = Field(None, gt=0, description="Evaluate every N steps (needs data.eval_fraction > 0).")
    eval_on_start: bool = Field(False, description="Also evaluate before the first step: the baseline of the eval loss curve.")
    save_steps: int = Field(50, gt=0, description="Checkpoint every N steps (what --resume continues from).")
    save_total_limit: int | None = Field(2, gt=0, description="Checkpoints kept; None keeps all.")
    activation_checkpointing: bool = Field(
        False, description="Gradient checkpointing (recompute activations): less memory, slower. trl's default is on."
    )


class ProbesSection(_Section):
    benchmarks: list[str] = Field(
        ..., min_length=1, description="Benchmarks scored during training: spec ids under eval/ or spec files relative to the recipe."
    )
    variants: list[str] | None = Field(None, description="Prompt variants (e.g. [en, hi]); default: each benchmark's own.")
    every: int = Field(50, gt=0, description="Score every N optimizer steps (and before the first and after the last).")


class OutputSection(_Section):
    dir: str = Field(..., description="Run folder, relative to the working directory.")
    merge: bool = Field(False, description="Also write merged/ (LoRA folded into the base) after training.")


class RuntimeSection(_Section):
    threads: int | Literal["auto"] = Field(
        "auto", description="Torch CPU threads. auto: the cores not already busy (oversubscription costs 10x here)."
    )
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto: cuda when available, else cpu.")


class DistributedSection(_Section):
    nproc: int = Field(1, gt=0, description="Processes per node (GPUs per node); >1 starts them through the launcher.")
    nnodes: int = Field(1, gt=0, description="Nodes; >1 needs `hostfile` (deepspeed launcher) or the accelerate config.")
    deepspeed: str | None = Field(
        None, description="ZeRO preset (zero2, zero3, zero3_offload) or a path to a DeepSpeed JSON; None: plain DDP."
    )
    launcher: Literal["auto", "deepspeed", "torchrun", "accelerate"] = Field(
        "auto", description="auto: the deepspeed launcher with a DeepSpeed config, torchrun otherwise."
    )
    hostfile: str | None = Field(None, description="DeepSpeed hostfile for multi-node runs (`host slots=N` per line).")
    master_addr: str | None = Field(None, description="Address of node 0 for multi-node torchrun/accelerate runs.")
    master_port: int = Field(29500, description="Rendezvous port on node 0.")
    node_rank: int = Field(0, ge=0, description="This node's rank (torchrun/accelerate multi-node; one command per node).")


class Recipe(_Section):
    """A complete training recipe (`tuner recipe show` prints it resolved)."""

    model: ModelSection = Field(default_factory=ModelSection)
    method: Method = Field(default_factory=LoraSection)
    data: DataSection
    training: TrainingSection = Field(default_factory=TrainingSection)
    output: OutputSection
    report_to: list[Literal["none", "tensorboard", "wandb", "mlflow", "trackio"]] = Field(
        default_factory=lambda: ["none"], description="Trackers for transformers' Trainer."
    )
    runtime: RuntimeSection = Field(default_factory=RuntimeSection)
    distributed: DistributedSection = Field(default_factory=DistributedSection)
    probes: ProbesSection | None = Field(None, description="Benchmarks scored on the live model every N steps (probes.jsonl, probes.png).")

    # Where relative data paths are resolved from (the recipe's folder); not a YAML key.
    base_dir: Path = Field(default=Path("."), exclude=True)

    @model_validator(mode="after")
    def _consistent(self) -> Recipe:
        if self.training.eval_steps and self.data.eval_fraction == 0:
            raise ValueError("training.eval_steps needs data.eval_fraction > 0 (nothing to evaluate on)")
        if self.model.scratch is not None and self.method.kind != "full":
            raise ValueError("model.scratch trains every weight of a new model: set method.kind to full")
        if self.method.kind == "full" and self.output.merge:
            raise ValueError("output.merge applies to LoRA/QLoRA runs; a full fine-tune is already a whole model")
        return self

    def source_path(self, source: SourceSection) -> Path:
        assert source.path is not None
        p = Path(source.path).expanduser()
        return p if p.is_absolute() else (self.base_dir / p).resolve()


def resolve_recipe_path(ref: str) -> Path:
    """A recipe is a path, or the bare name of a shipped recipe (`hindi_sft`)."""
    path = Path(ref)
    if path.is_file():
        return path
    shipped = find_shipped(ref, "recipes")
    if shipped:
        return shipped
    raise UserError(f"{ref}: no such recipe file; give a path to a .yaml recipe or a name under recipes/")


def load_recipe(ref: str, overrides: list[str] | None = None) -> Recipe:
    path = resolve_recipe_path(ref)
    recipe = load_config(Recipe, path, overrides)
    recipe.base_dir = path.resolve().parent
    return recipe
