"""What every benchmark reports with its numbers: the machine and the date, appended to docs/benchmarks.md."""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def machine() -> str:
    cpu_lines = Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []
    model = next((line.split(":", 1)[1].strip() for line in cpu_lines if line.startswith("model name")),
                 platform.processor() or "unknown CPU")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{cores} cores ({model}), Python {platform.python_version()}, {platform.system()} {platform.machine()}"


def device_label(device) -> str:
    """The GPU's name, or "CPU" (a `core.diffusion.Device`)."""
    if device.name != "cuda":
        return "CPU"
    import torch

    return torch.cuda.get_device_name()


def publish(title: str, command: str, lines: list[str], *, results: Path = RESULTS) -> str:
    """Print a results section and append it to `results` (docs/benchmarks.md); returns the section."""
    section = "\n".join([
        f"## {title} — {datetime.now(UTC):%Y-%m-%d}",
        "",
        f"Machine: {machine()}. Command: `{command}`.",
        "",
        *lines,
        "",
    ])
    print(section)
    with results.open("a") as file:
        file.write("\n" + section)
    return section
