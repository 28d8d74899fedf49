"""Which processors `make run` draws and trains on: the machine's NVIDIA GPUs when it has any, its CPUs otherwise.

The launcher may not import torch (docs/architecture.md), so it asks the driver: `nvidia-smi -L` lists the GPUs,
and CUDA_VISIBLE_DEVICES, when set, narrows them as it does for CUDA itself.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from importlib import metadata
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


def torch_is_cpu_only() -> bool:
    """Whether the installed torch is a CPU build (its version says `+cpu`, as requirements.lock's does): it
    cannot use a GPU however many the machine has."""
    try:
        return metadata.version("torch").endswith("+cpu")
    except metadata.PackageNotFoundError:
        return True


def choose_gpus(found: int, cpu_only_torch: bool) -> tuple[int, str]:
    """How many GPUs the platform takes, and the launcher's log line saying why."""
    if not found:
        return 0, "drawing and training on the CPU (no GPU found)"
    if cpu_only_torch:
        return 0, (f"drawing and training on the CPU: {found} GPU{'s' if found > 1 else ''} found, but the "
                   "installed torch is a CPU build (docs/operations.md, GPUs)")
    return found, f"drawing and training on {found} GPU{'s' if found > 1 else ''}"
