"""`tuner merge RUN`: fold a LoRA adapter into its base and prove the result computes the same thing."""

from __future__ import annotations

from pathlib import Path

from tuner.errors import RuntimeFailure, UserError

# Probe inputs for the equality check: English, Hindi and a chat turn, so embeddings of both scripts are exercised.
PROBES = [
    "The capital of India is",
    "भारत की राजधानी नई दिल्ली है और",
    "<|im_start|>user\nWhat is Diwali?<|im_end|>\n<|im_start|>assistant\n",
]


def merge_run(run: Path, atol: float = 1e-3) -> Path:
    """Write RUN/merged (safetensors + tokenizer) after checking merged and adapter logits agree within `atol`.

    fp32 merges of the 135M model differ by ~1e-4 (summation order); a wrong merge differs by >1.
    """
    import torch

    from tuner.models import load_model, load_tokenizer, resolve, save_atomically

    run = Path(run)
    if not (run / "adapter_config.json").is_file():
        raise UserError(f"{run}: no adapter_config.json; `tuner merge` takes a LoRA run folder")
    ref = resolve(str(run))
    tokenizer = load_tokenizer(ref)
    model = load_model(ref, torch.float32, "cpu")
    model.eval()
    batch = tokenizer(PROBES, return_tensors="pt", padding=True)
    with torch.no_grad():
        before = model(**batch).logits
        merged = model.merge_and_unload()
        after = merged(**batch).logits
    mask = batch["attention_mask"].bool()
    diff = (before - after).abs()[mask].max().item()
    if diff > atol:
        raise RuntimeFailure(f"merged logits differ from adapter logits by {diff:.2e} > {atol:.0e}; nothing written")
    check = f"max |logit difference| adapter vs merged on {len(PROBES)} probes: {diff:.3e}\n"
    return save_atomically(merged, tokenizer, run / "merged", {"merge_check.txt": check})
