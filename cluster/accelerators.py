"""Which processors `make run` draws and trains on: the machine's NVIDIA GPUs when it has any, its CPUs otherwise.

The launcher may not import torch (docs/architecture.md), so it asks the driver: `nvidia-smi -L` lists the GPUs,
and CUDA_VISIBLE_DEVICES, when set, narrows them as it does for CUDA itself.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from itertools import takewhile


def local_gpu_count(run: Callable[..., subprocess.CompletedProcess] = subprocess.run,
                    environment: dict[str, str] | None = None) -> int:
    """The GPUs this machine lends the platform; 0 without the NVIDIA driver or when none is visible."""
    environment = os.environ if environment is None else environment
    nvidia_smi = shutil.which("nvidia-smi", path=environment.get("PATH"))
    if not nvidia_smi:
        return 0
    try:
        listed = run([nvidia_smi, "-L"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return 0
    if listed.returncode != 0:
        return 0
    count = sum(1 for line in listed.stdout.splitlines() if line.startswith("GPU "))
    visible = environment.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        # CUDA stops at the first entry that names no device ("", "-1").
        named = takewhile(lambda device: device.strip() and not device.strip().startswith("-"), visible.split(","))
        count = min(count, len(list(named)))
    return count


def describe(gpus: int) -> str:
    return f"drawing and training on {gpus} GPU{'s' if gpus > 1 else ''}" if gpus else \
        "drawing and training on the CPU (no GPU found)"
