"""Evaluation spread over the processes of a launch (`torchrun --nproc_per_node 8 -m tuner eval ...`).

Rank 0 decides what is missing (its result store is the one that counts, also across nodes) and
broadcasts it; every round, each rank scores its share of the next block, and rank 0 gathers the
responses and commits them. All ranks run the same number of rounds, so no collective waits forever.
"""

from __future__ import annotations

import os
from typing import Any, TypeVar

T = TypeVar("T")


class Shards:
    def __init__(self) -> None:
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        if self.world > 1:
            import torch
            import torch.distributed as dist

            if not dist.is_initialized():
                cuda = torch.cuda.is_available()
                if cuda:
                    torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
                dist.init_process_group("nccl" if cuda else "gloo")

    @property
    def main(self) -> bool:
        return self.rank == 0

    def from_main(self, value: T) -> T:
        """Rank 0's value on every rank."""
        if self.world == 1:
            return value
        import torch.distributed as dist

        box = [value]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def rounds(self, items: list[T], per_rank: int) -> list[list[T]]:
        """This rank's share of each round (possibly empty) — the same number of rounds on every rank."""
        block = per_rank * self.world
        return [items[start : start + block][self.rank :: self.world] for start in range(0, len(items), block)]

    def gather(self, part: list[Any]) -> list[Any]:
        """Everyone's parts, concatenated on rank 0 (empty elsewhere)."""
        if self.world == 1:
            return part
        import torch.distributed as dist

        parts: list[list[Any]] | None = [[] for _ in range(self.world)] if self.main else None
        dist.gather_object(part, parts, dst=0)
        return [x for p in parts for x in p] if parts is not None else []
