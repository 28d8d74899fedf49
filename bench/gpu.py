"""The GPU benchmark: generation and training speed of both base model families on the machine's GPU, one table.

    python -m bench.gpu            # on a GPU machine: the full-size architectures (random weights), < 8 min on an H100
    python -m bench.gpu --tiny     # the tiny models on the CPU, seconds: part of `make test` so it never rots

Per family (SD 1.5-shape at 512², SDXL-shape at 1024², 30 steps): images/s at each batch size with one style and
with a mix of styles (the per-row LoRA batches of the generation replica), an adapter's cold load and a switch of
style between batches, LoRA training steps/s and the projected minutes of the default recipe on 10 images, and
the peak GPU memory of each phase. Every figure names its device, dtype and batch. Speed does not depend on the
weights' values, so the shapes' random weights measure what real weights would.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from bench.report import RESULTS, device_label, publish
from bench.training import gradient_images, train_lora_steps_per_second
from core.diffusion import Device, resolve_base_model
from core.diffusion.families import family_named
from core.training_recipe import TrainingRecipe
from serve_apps.generation.pipeline import ImageRequest, StylePipeline
from tests.serving.styles import random_adapter
from training_jobs.train import ADAPTER_FILE, TrainingSpec

GUIDANCE = 7.0
TRAINING_IMAGES = 10  # timed in one epoch of as many repeats as the steps need
RECIPE_IMAGES = (10, 30, 100)  # the spec's smallest and largest sets, and one between


@dataclass(frozen=True)
class Profile:
    family: str
    model: str  # an SL_BASE_MODEL name
    size: int  # square side drawn and trained at
    steps: int
    batches: tuple[int, ...]
    styles: int  # styles mixed in the largest batch
    training_steps: int  # timed, after one warm-up step, within one epoch (no checkpoint in the window)


FULL = (
    Profile("sd1", "sd15-shape", 512, 30, (1, 8), 8, 10),
    Profile("sdxl", "sdxl-shape", 1024, 30, (1, 4), 4, 10),
)
TINY = (
    Profile("sd1", "tiny", 128, 2, (1, 2), 2, 2),
    Profile("sdxl", "tiny-xl", 128, 2, (1, 2), 2, 2),
)
# What the platform trains with unless configured otherwise (core/training_recipe.py).
RECIPE = TrainingRecipe()
SAMPLE_PROMPTS = len(TrainingSpec.sample_prompts)


@dataclass
class Row:
    figure: str
    value: str
    batch: str
    peak_memory: str


class Meter:
    """Seconds of a callable on the device, and the peak device memory of a phase."""

    def __init__(self, device: Device):
        self.device = device

    def seconds(self, run: Callable[[], object], *, repeat: int) -> float:
        """The median of `repeat` timed runs after one untimed warm-up."""
        run()
        times = []
        for _ in range(repeat):
            self.synchronize()
            started = time.perf_counter()
            run()
            self.synchronize()
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    @contextmanager
    def phase(self) -> Iterator[Callable[[], str]]:
        """Yields a function giving the phase's peak memory so far."""
        self.reset_peak()
        if self.device.name == "cuda":
            yield lambda: f"{torch.cuda.max_memory_allocated() / 2**30:.1f} GiB"
        else:
            yield lambda: "n/a (CPU)"

    def reset_peak(self) -> None:
        if self.device.name == "cuda":
            torch.cuda.reset_peak_memory_stats()

    def synchronize(self) -> None:
        if self.device.name == "cuda":
            torch.cuda.synchronize()


def generation_rows(profile: Profile, pipeline: StylePipeline, meter: Meter,
                    repeat: int) -> tuple[list[Row], float]:
    """Images/s at each batch size with one style, and at the largest with `profile.styles` styles mixed; and
    the seconds of one image alone."""
    rows = []
    with meter.phase() as peak:
        largest = max(profile.batches)
        runs = [(batch, 1) for batch in profile.batches] + [(largest, profile.styles)]
        speeds = {}
        for batch, styles in runs:
            requests = [_request(f"style_{index % styles}", index, profile) for index in range(batch)]
            seconds = meter.seconds(lambda requests=requests: pipeline.generate(requests), repeat=repeat)
            speeds[batch, styles] = batch / seconds
            label = "one style" if styles == 1 else f"{styles} styles mixed"
            rows.append(Row(f"images/s, {profile.steps} steps, {label}", f"{speeds[batch, styles]:.2f}", str(batch),
                            peak()))
    ratio = speeds[largest, profile.styles] / speeds[largest, 1]
    rows.append(Row(f"{profile.styles} styles mixed ÷ one style", f"{ratio:.2f}", str(largest), "-"))
    return rows, 1 / speeds[min(profile.batches), 1]


def adapter_rows(profile: Profile, pipeline: StylePipeline, adapters: list[Path], meter: Meter) -> list[Row]:
    """A cold load (file on disk to usable in the pipeline) and a switch: a one-step batch of another style
    than the last, less a one-step batch of the same style."""
    loads = []
    for index, path in enumerate(adapters):
        started = time.perf_counter()
        pipeline.add_adapter(f"style_{index}", path)
        loads.append(time.perf_counter() - started)
    one_step = [_request("style_0", 0, profile, steps=1)]
    other = [_request("style_1", 0, profile, steps=1)]
    same = meter.seconds(lambda: pipeline.generate(one_step), repeat=3)
    alternating = meter.seconds(lambda: (pipeline.generate(other), pipeline.generate(one_step)), repeat=3) / 2
    return [
        Row("adapter cold load, ms (median)", f"{statistics.median(loads) * 1000:.0f}", "-", "-"),
        Row("style switch between batches, ms", f"{max(0.0, alternating - same) * 1000:.1f}", "1", "-"),
    ]


def training_rows(profile: Profile, device: Device, work_dir: Path, meter: Meter,
                  seconds_per_image: float) -> list[Row]:
    family = RECIPE.for_family(profile.family)
    images = gradient_images(work_dir / "images", TRAINING_IMAGES, profile.size)
    with meter.phase() as peak:
        # The peak is training's own, not the base model's build before its first step.
        steps_per_second, _ = train_lora_steps_per_second(
            profile.model, images, resolution=profile.size, steps=profile.training_steps, family=family,
            device=device, output=work_dir / f"training-{profile.family}", synchronize=meter.synchronize,
            after_warm_up=meter.reset_peak)
        memory = peak()
    # The default recipe (one image in ten held out), and each epoch's sample images (fewer steps than a
    # generation).
    batch = str(family.batch_size)
    rows = [Row(f"LoRA training steps/s (rank {family.rank})", f"{steps_per_second:.2f}", batch, memory)]
    samples = RECIPE.epochs * SAMPLE_PROMPTS * seconds_per_image * RECIPE.sample_steps / profile.steps
    for count in RECIPE_IMAGES:
        steps = RECIPE.total_steps(count, profile.family)
        minutes = (steps / steps_per_second + samples) / 60
        rows.append(Row(f"default recipe on {count} images ({steps} steps + samples), projected minutes",
                        f"{minutes:.1f}", batch, memory))
    return rows


def benchmark(profile: Profile, device: Device, work_dir: Path, *, repeat: int) -> list[Row]:
    model = resolve_base_model(profile.model, work_dir / "models")
    profile = replace(profile, model=model)
    family = family_named(profile.family)
    pipeline = StylePipeline.load(model, device)
    adapters = []
    for index in range(profile.styles):
        path = work_dir / f"{profile.family}-style-{index}" / ADAPTER_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(random_adapter(pipeline.pipeline.unet, seed=index, family=family,
                                        rank=RECIPE.for_family(profile.family).rank))
        adapters.append(path)
    adapter_costs = adapter_rows(profile, pipeline, adapters, Meter(device))
    rows, seconds_per_image = generation_rows(profile, pipeline, Meter(device), repeat)
    rows += adapter_costs
    del pipeline
    _free(device)
    rows += training_rows(profile, device, work_dir, Meter(device), seconds_per_image)
    _free(device)
    return rows


def _request(adapter: str, index: int, profile: Profile, *, steps: int | None = None) -> ImageRequest:
    return ImageRequest(adapter=adapter, prompt=f"{adapter}, harbour at dusk", negative_prompt="blurry",
                        seed=index, width=profile.size, height=profile.size, steps=steps or profile.steps,
                        guidance_scale=GUIDANCE)


def _free(device: Device) -> None:
    gc.collect()
    if device.name == "cuda":
        torch.cuda.empty_cache()


def run(tiny: bool, results: Path) -> str:
    if tiny:
        device = Device("cpu", torch.float32)
        torch.set_num_threads(1)
    else:
        device = Device.best()
        if device.name != "cuda":
            raise SystemExit("bench.gpu measures a GPU: run it on a GPU machine, or with --tiny on the CPU")
    dtype = str(device.dtype).removeprefix("torch.")
    lines = [
        f"Device: {device_label(device)}, {dtype}. Random weights (speed does not depend on their values); "
        "targets on one H100, recorded here and never asserted: SD 1.5 ≥ 7 images/s with 8 mixed styles, "
        "SDXL ≥ 1 image/s, mixed ÷ one style ≥ 0.9, default training of 10 images < 3 min (SD 1.5) and "
        "< 10 min (SDXL).",
        "",
        "| model | figure | value | batch | device, dtype | peak GPU memory |",
        "|---|---|---:|---:|---|---:|",
    ]
    with tempfile.TemporaryDirectory(prefix="sl-bench-gpu-") as directory:
        for profile in TINY if tiny else FULL:
            for row in benchmark(profile, device, Path(directory), repeat=1 if tiny else 2):
                lines.append(f"| {profile.model} {profile.size}² | {row.figure} | {row.value} | {row.batch} | "
                             f"{device_label(device)}, {dtype} | {row.peak_memory} |")
    title = "GPU benchmark (tiny models on the CPU)" if tiny else f"GPU benchmark on {device_label(device)}"
    return publish(title, f"python -m bench.gpu{' --tiny' if tiny else ''}", lines, results=results)


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="the tiny models on the CPU (a smoke run, seconds)")
    parser.add_argument("--results", type=Path, default=RESULTS, help="the Markdown file the table is appended to")
    arguments = parser.parse_args(argv)
    return run(arguments.tiny, arguments.results)


if __name__ == "__main__":
    main()
