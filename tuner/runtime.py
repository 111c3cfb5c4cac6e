"""Hardware choices made deliberately: device, precision and CPU threads."""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import torch


def choose_device(requested: Literal["auto", "cpu", "cuda"] = "auto") -> str:
    import torch

    from tuner.errors import UserError

    if requested == "cuda" and not torch.cuda.is_available():
        raise UserError("runtime.device=cuda but no CUDA device is visible; use runtime.device=auto or cpu")
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return requested


def choose_dtype(requested: str, device: str) -> torch.dtype:
    """auto: fp32 on CPU (bf16 matmul measured ~40% slower there), bf16 on GPUs that support it, else fp16."""
    import torch

    if requested != "auto":
        return getattr(torch, requested)
    if device == "cpu":
        return torch.float32
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def available_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _cpu_times() -> tuple[int, int]:
    fields = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    return sum(fields), fields[3] + fields[4]  # total, idle + iowait


def busy_cores(window_s: float = 0.25) -> float:
    """Cores kept busy by other processes right now (sampled from /proc/stat while we sleep).

    The 1-minute load average lags by a minute, so it would still count a job that just ended.
    """
    if not os.path.exists("/proc/stat"):
        return os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    total0, idle0 = _cpu_times()
    time.sleep(window_s)
    total1, idle1 = _cpu_times()
    share = 1 - (idle1 - idle0) / max(1, total1 - total0)
    return share * (os.cpu_count() or 1)


def choose_threads(requested: int | Literal["auto"] = "auto", share: int = 1) -> int:
    """Set torch's intra-op threads. auto: the cores not already busy, at least one.

    `share` processes of one launch split the cores evenly (their siblings' start-up would otherwise
    look like other people's load).

    On a shared 2-core machine the default of 2 threads against one busy core made a forward pass
    ~17x slower than 1 thread: oversubscription is the biggest performance trap on CPU.
    `TUNER_NUM_THREADS` overrides auto.
    """
    import torch

    if requested == "auto":
        env = os.environ.get("TUNER_NUM_THREADS")
        if env:
            n = int(env)
        elif share > 1:
            n = max(1, available_cores() // share)
        else:
            n = max(1, available_cores() - round(busy_cores()))
    else:
        n = requested
    torch.set_num_threads(n)
    return n
