"""The GPU benchmark's `--tiny` run on the CPU: the same script as on an H100, so it never rots."""

from __future__ import annotations

from bench import gpu


def test_the_gpu_benchmark_runs_every_figure_on_the_tiny_models(tmp_path):
    results = tmp_path / "benchmarks.md"
    section = gpu.main(["--tiny", "--results", str(results)])

    assert results.read_text().strip() == section.strip()
    table = [line for line in section.splitlines() if line.startswith("| tiny")]
    for model in ("tiny 128²", "tiny-xl 128²"):
        figures = [line.split(" | ")[1] for line in table if line.startswith(f"| {model} |")]
        assert figures == [
            "images/s, 2 steps, one style", "images/s, 2 steps, one style", "images/s, 2 steps, 2 styles mixed",
            "2 styles mixed ÷ one style", "adapter cold load, ms (median)", "style switch between batches, ms",
            "LoRA training steps/s (rank 16)",
            "default recipe on 10 images (500 steps + samples), projected minutes",
            "default recipe on 30 images (1350 steps + samples), projected minutes",
            "default recipe on 100 images (3150 steps + samples), projected minutes",
        ], figures
    values = [float(line.split(" | ")[2]) for line in table]
    assert all(value >= 0 for value in values) and all(line.count(" | ") == 5 for line in table)
    assert all("CPU, float32" in line for line in table)
