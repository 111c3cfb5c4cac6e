"""Model-state memory per GPU for each ZeRO stage: the standard estimates, printed from the formula.

Mixed-precision Adam keeps, per parameter, 2 bytes of bf16 weights, 2 of bf16 gradients and K = 12
of fp32 optimizer state (master weights, momentum, variance) (Rajbhandari et al. 2020, "ZeRO").
With N GPUs and P parameters:
    DDP           (2 + 2 + K) P              every GPU holds everything
    ZeRO-2        2P + (2 + K) P / N         gradients and optimizer state partitioned
    ZeRO-3        (2 + 2 + K) P / N          weights partitioned too
    ZeRO-3 + offload: GPU 4 L (the largest layer, gathered in fp32 at most), CPU 18 P x 1.5 / nodes
                  per node (DeepSpeed's `estimate_zero3_model_states_mem_needs`, its 1.5 buffer factor)
    LoRA, ZeRO-3: the frozen bf16 base 2P / N (adapter states are negligible)
Activations, buffers and fragmentation come on top; they depend on batch and sequence length.

    python scripts/zero_memory.py [--gpus 8] [--nodes 1]
"""

from __future__ import annotations

import argparse

K = 12
GIB = 2**30
# (name, parameters, largest layer = the embedding matrix: vocabulary x hidden size), Llama-3 shapes.
MODELS = [("1B", 1.24e9, 128256 * 2048), ("8B", 8.03e9, 128256 * 4096), ("70B", 70.6e9, 128256 * 8192)]


def per_gpu_gib(params: float, largest: float, gpus: int, nodes: int) -> dict[str, float]:
    return {
        "DDP": (2 + 2 + K) * params / GIB,
        "ZeRO-2": (2 * params + (2 + K) * params / gpus) / GIB,
        "ZeRO-3": (2 + 2 + K) * params / gpus / GIB,
        "ZeRO-3 offload (GPU)": 4 * largest / GIB,
        "ZeRO-3 offload (CPU/node)": 18 * params * 1.5 / nodes / GIB,
        "LoRA on ZeRO-3": 2 * params / gpus / GIB,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gpus", type=int, default=8, help="GPUs sharing the model states (all nodes together)")
    parser.add_argument("--nodes", type=int, default=1, help="nodes the GPUs are spread over")
    args = parser.parse_args()
    rows = [(name, per_gpu_gib(p, largest, args.gpus, args.nodes)) for name, p, largest in MODELS]
    columns = list(rows[0][1])
    print(f"| model | {' | '.join(columns)} |")
    print("|---" * (len(columns) + 1) + "|")
    for name, values in rows:
        print(f"| {name} | " + " | ".join(f"{v:,.1f} GiB" for v in values.values()) + " |")
    print(f"\nper GPU with {args.gpus} GPUs on {args.nodes} node(s); model states only (activations come on top)")


if __name__ == "__main__":
    main()
