"""Serving benchmark: what cross-style batching costs, what styles cost to load, and the latency clients see.

    .venv/bin/python -m bench.serving [--images 16] [--concurrency 8] [--size 256] [--steps 8] [--rounds 5]
    python -m bench.serving --sd15 [--images 64] [--concurrency 8] [--size 512] [--steps 30]   # a GPU machine

Drives one replica's `GenerationServer` (the code a Serve replica runs, without Ray's hop) with a closed
loop of `--concurrency` clients: a stream of images all in one style, then the same stream mixing 8 styles,
each through the pipeline alone and through the whole replica path (signing and upload included).
Then a style's cold load (storage → disk → pipeline), a reload from the disk cache, and what switching the
active adapter would cost a design that draws one style per call (batches here never switch).

The default runs the tiny development model on the CPU. `--sd15` builds Stable Diffusion 1.5's architecture
with random weights (the real cost, noise for pixels) in bf16 on the GPU, 8 rank-16 styles, and also reports
the UNet/VAE/text-encoder FLOPs of an image and the share of the card's dense bf16 peak they reach. It needs
a CUDA machine (`device` machines, docs/operations.md); nothing here downloads weights.

Prints the results and appends them to docs/benchmarks.md (bench/report.py).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import torch

from bench.report import device_label, publish
from core.contracts import GenerationJob
from core.diffusion import Device, build_tiny_model
from core.provenance_keys import load_provenance_keys
from core.settings import AppSettings, ProvenanceSettings, Settings
from core.storage import LocalObjectStore
from serve_apps.generation.adapters import AdapterCache
from serve_apps.generation.batching import BatchRunner, Drawn
from serve_apps.generation.pipeline import ImageRequest, StylePipeline
from serve_apps.generation.server import GenerationServer, LoadedStyle
from tests.serving.styles import adapter_key, random_adapter

STYLES = 8
GUIDANCE = 7.0
# Dense bf16 tensor-core peaks from the vendors' data sheets, TFLOP/s; the first name found in the device's wins.
BF16_PEAK_TFLOPS = {"H100 PCIe": 756.0, "H100": 989.4, "H200": 989.4, "A100": 312.0, "L40S": 362.1, "L4": 121.0}


@dataclass(frozen=True)
class StreamResult:
    images_per_second: float
    p50_seconds: float
    p95_seconds: float
    mean_batch: float
    cpu_seconds_per_image: float  # of the pipeline thread: what contention on a shared machine does not inflate


def _job(generation_id: int, style: int, size: int, steps: int) -> GenerationJob:
    return GenerationJob(
        generation_id=generation_id, adapter_key=adapter_key(style), prompt=f"style {style}, harbour at dusk",
        width=size, height=size, seed=generation_id, steps=steps, guidance_scale=GUIDANCE, artist_id=style,
        artist_name=f"Painter {style}", signature_key=None, style_id=style, style_title=f"Style {style}",
        created_at=datetime.now(UTC),
    )


class TimedPipeline(StylePipeline):
    """Counts the CPU time of the pipeline thread (with one torch thread, all of the drawing's compute)."""

    cpu_seconds = 0.0

    def generate(self, rows, on_step=None):
        started = time.thread_time()
        try:
            return super().generate(rows, on_step)
        finally:
            self.cpu_seconds += time.thread_time() - started


class Rig:
    """One replica's server over a local store holding 8 styles, with a style cache like Serve's."""

    def __init__(self, pipeline: TimedPipeline, root: Path, *, concurrency: int, adapter_rank: int):
        store = LocalObjectStore(root / "objects", url_prefix="/media", signing_key="bench", default_ttl_seconds=60)
        for style in range(1, STYLES + 1):
            data = random_adapter(pipeline.pipeline.unet, seed=style, rank=adapter_rank)
            asyncio.run(store.put(adapter_key(style), data, content_type="application/octet-stream"))
        settings = Settings(app=AppSettings(data_dir=root / "data"))
        self.server = GenerationServer(
            store=store, adapters=AdapterCache(store, root / "adapters"),
            runner=BatchRunner(pipeline, max_batch_size=concurrency, batch_wait_seconds=0.02),
            keys=load_provenance_keys(settings), provenance=ProvenanceSettings(), progress_interval_seconds=0.25,
        )
        self.styles: dict[str, LoadedStyle] = {}

    async def load_style(self, key: str) -> LoadedStyle:
        if key not in self.styles:
            self.styles[key] = await self.server.load_style(key)
        return self.styles[key]

    async def draw(self, job: GenerationJob) -> None:
        """The pipeline alone: batching, denoising, decoding."""
        style = await self.load_style(job.adapter_key)
        row = ImageRequest(adapter=style.name, prompt=job.prompt, negative_prompt="", seed=job.seed,
                           width=job.width, height=job.height, steps=job.steps, guidance_scale=job.guidance_scale)
        async for event in self.server.runner.draw(row):
            if isinstance(event, Drawn):
                return

    async def serve(self, job: GenerationJob) -> None:
        """The whole replica path: progress, signing, upload."""
        async for _ in self.server.generate(job, self.load_style):
            pass

    async def stream(self, jobs: list[GenerationJob], concurrency: int, *, full_path: bool) -> StreamResult:
        call = self.serve if full_path else self.draw
        queue = list(reversed(jobs))
        latencies: list[float] = []
        before = Counter(self.server.runner.batch_sizes)
        cpu_before = self.server.runner.pipeline.cpu_seconds

        async def client() -> None:
            while queue:
                job = queue.pop()
                started = time.perf_counter()
                await call(job)
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        batches = self.server.runner.batch_sizes - before
        quantiles = statistics.quantiles(latencies, n=20, method="inclusive")
        return StreamResult(
            images_per_second=len(jobs) / elapsed, p50_seconds=statistics.median(latencies),
            p95_seconds=quantiles[18], mean_batch=sum(size * n for size, n in batches.items()) / batches.total(),
            cpu_seconds_per_image=(self.server.runner.pipeline.cpu_seconds - cpu_before) / len(jobs),
        )

    async def adapter_costs(self) -> dict[str, float]:
        """Milliseconds, medians over the 8 styles."""
        cold, reload, switch = [], [], []
        for style in range(1, STYLES + 1):
            key = adapter_key(style)
            started = time.perf_counter()
            await self.load_style(key)
            cold.append(time.perf_counter() - started)
            started = time.perf_counter()
            second = await self.server.load_style(key)  # the file is on disk now
            reload.append(time.perf_counter() - started)
            del second  # evicted like Serve evicts: it leaves the pipeline
        names = [style.name for style in self.styles.values()] * 3
        for name in names:
            started = time.perf_counter()
            await self.server.runner.call(lambda pipeline, name=name: pipeline.pipeline.set_adapters(name))
            switch.append(time.perf_counter() - started)
        return {name: statistics.median(values) * 1000 for name, values in
                (("cold", cold), ("reload", reload), ("switch", switch))}


def _median_round(rounds: list[StreamResult]) -> StreamResult:
    """The round with the median throughput."""
    return sorted(rounds, key=lambda result: result.images_per_second)[len(rounds) // 2]


def flops_per_image(pipeline: StylePipeline, row: ImageRequest) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        pipeline.generate([row])
    return float(counter.get_total_flops())


def bf16_peak_tflops(override: float | None) -> float | None:
    if override:
        return override
    name = torch.cuda.get_device_name() if torch.cuda.is_available() else ""
    return next((peak for model, peak in BF16_PEAK_TFLOPS.items() if model in name), None)


def run(args: argparse.Namespace) -> list[str]:
    if args.sd15:
        device = Device.best()
        if device.name != "cuda" and not args.allow_cpu:
            raise SystemExit("--sd15 is meant for a GPU machine (add --allow-cpu for a smoke run)")
    else:
        device = Device("cpu", torch.float32)
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory(prefix="sl-bench-serving-") as directory:
        root = Path(directory)
        if args.sd15:
            pipeline = TimedPipeline.load("sd15-shape", device)
            model = f"SD 1.5-shaped (random weights) in {device.dtype} on {device_label(device)}"
        else:
            pipeline = TimedPipeline.load(str(build_tiny_model(root / "tiny")), device)
            model = f"tiny development model on the CPU, {args.threads} torch thread(s)"
        rig = Rig(pipeline, root, concurrency=args.concurrency, adapter_rank=args.rank)
        costs = asyncio.run(rig.adapter_costs())
        one_style = [_job(n, 1, args.size, args.steps) for n in range(args.images)]
        mixed = [_job(n, 1 + n % STYLES, args.size, args.steps) for n in range(args.images)]
        asyncio.run(rig.stream(mixed[: args.concurrency], args.concurrency, full_path=True))  # warm up
        rounds: dict[tuple[str, bool], list[StreamResult]] = {}
        streams = [(label, jobs, full_path) for full_path in (False, True)
                   for label, jobs in (("one style", one_style), (f"{STYLES} styles mixed", mixed))]
        # Round after round, in alternating order: the noise of a shared machine falls on every stream alike.
        for round_number in range(args.rounds):
            for label, jobs, full_path in streams if round_number % 2 == 0 else reversed(streams):
                result = asyncio.run(rig.stream(jobs, args.concurrency, full_path=full_path))
                rounds.setdefault((label, full_path), []).append(result)
        results = {key: _median_round(found) for key, found in rounds.items()}
        flops = flops_per_image(pipeline, ImageRequest(
            adapter=rig.styles[adapter_key(1)].name, prompt="flops", negative_prompt="", seed=0,
            width=args.size, height=args.size, steps=args.steps, guidance_scale=GUIDANCE,
        )) if args.sd15 else None
        rig.server.close()

    lines = [
        f"{model}; {args.size}×{args.size}, {args.steps} steps, guidance {GUIDANCE}, {args.concurrency} concurrent "
        f"clients, {args.images} images per stream, up to {args.concurrency} rows per batch, LoRA rank {args.rank}; "
        f"the median of {args.rounds} alternating rounds.",
        "",
        "| stream | path | images/s | p50 latency | p95 latency | mean batch | pipeline-thread CPU s/image |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for (label, full_path), result in results.items():
        path = "replica (+ signing, upload)" if full_path else "pipeline"
        lines.append(f"| {label} | {path} | {result.images_per_second:.2f} | {result.p50_seconds:.2f} s | "
                     f"{result.p95_seconds:.2f} s | {result.mean_batch:.1f} | {result.cpu_seconds_per_image:.2f} |")
    one, mixed_label = "one style", f"{STYLES} styles mixed"
    ratios = [results[mixed_label, full].images_per_second / results[one, full].images_per_second
              for full in (False, True)]
    cpu_ratio = results[one, False].cpu_seconds_per_image / results[mixed_label, False].cpu_seconds_per_image
    lines += [
        "",
        f"Mixed ÷ one style, images/s (target ≥ 0.9): {ratios[0]:.2f} through the pipeline, {ratios[1]:.2f} through "
        f"the replica; by the pipeline thread's CPU time per image, which other work on the machine does not "
        f"inflate: {cpu_ratio:.2f}.",
        "",
        "| style adapter | median ms |",
        "|---|---:|",
        f"| cold load: storage → disk cache → pipeline | {costs['cold']:.0f} |",
        f"| reload from the disk cache → pipeline | {costs['reload']:.0f} |",
        f"| `set_adapters` switch (a one-style-per-call design pays it per switch; batches here never switch) | "
        f"{costs['switch']:.1f} |",
    ]
    if flops is not None:
        best = max(results[label, False].images_per_second for label in (one, mixed_label))
        peak = bf16_peak_tflops(args.peak_tflops)
        achieved = flops * best / 1e12
        share = f"{100 * achieved / peak:.1f} % of {peak:g} TFLOP/s dense bf16 peak" if peak else "peak unknown"
        lines += ["", f"FLOPs per image (text encoder, {args.steps} UNet steps with guidance, VAE decode): "
                  f"{flops / 1e12:.2f} TFLOP; at {best:.2f} images/s through the pipeline: {achieved:.0f} TFLOP/s, "
                  f"{share}."]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sd15", action="store_true", help="SD 1.5-shaped model in bf16 on the GPU")
    parser.add_argument("--allow-cpu", action="store_true", help="let --sd15 run on the CPU (a smoke run)")
    parser.add_argument("--images", type=int, help="per stream (default 16; 64 with --sd15)")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--size", type=int, help="image side (default 256; 512 with --sd15)")
    parser.add_argument("--steps", type=int, help="denoising steps (default 8; 30 with --sd15)")
    parser.add_argument("--rank", type=int, help="LoRA rank of the styles (default 4; 16 with --sd15)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds of the streams")
    parser.add_argument("--threads", type=int, default=1, help="torch threads on the CPU")
    parser.add_argument("--peak-tflops", type=float, help="the card's dense bf16 peak, if not in the table")
    parser.add_argument("--no-publish", action="store_true", help="print only")
    args = parser.parse_args()
    defaults = {"images": (16, 64), "size": (256, 512), "steps": (8, 30), "rank": (4, 16)}
    for name, (cpu, gpu) in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, gpu if args.sd15 else cpu)
    lines = run(args)
    title = "Serving (SD 1.5-shaped, GPU)" if args.sd15 else "Serving (tiny model, CPU)"
    command = "python -m bench.serving " + " ".join(
        f"--{name} {getattr(args, name)}" for name in ("images", "concurrency", "size", "steps", "rank", "rounds"))
    command += " --sd15" if args.sd15 else f" --threads {args.threads}"
    if args.no_publish:
        print("\n".join(lines))
    else:
        publish(title, command, lines)


if __name__ == "__main__":
    main()
