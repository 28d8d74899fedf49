"""The GPU benchmark's `--tiny` run on the CPU: the same script as on an H100, so it never rots."""

from __future__ import annotations

from bench import gpu


def test_the_gpu_benchmark_runs_every_figure_on_the_tiny_models(tmp_path):
    results = tmp_path / "benchmarks.md"
    section = gpu.main(["--tiny", "--results", str(results)])

    assert results.read_text().strip() == section.strip()
    table = [line for line in section.splitlines() if line.startswith("| tiny")]
    for model, family in (("tiny 128²", "sd1"), ("tiny-xl 128²", "sdxl")):
        rows = {line.split(" | ")[1]: line.split(" | ")[2] for line in table if line.startswith(f"| {model} |")}
        recipe_rows = [f"default recipe on {count} images ({gpu.RECIPE.total_steps(count, family)} steps + samples), "
                       "projected minutes" for count in gpu.RECIPE_IMAGES]
        rates = ["images/s, 2 steps, one style", "images/s, 2 steps, 2 styles mixed", "2 styles mixed ÷ one style",
                 "adapter cold load, ms (median)", f"LoRA training steps/s (rank {gpu.RECIPE.for_family(family).rank})",
                 *recipe_rows]
        assert set(rows) == {*rates, "style switch between batches, ms"}, rows
        assert all(float(rows[figure]) > 0 for figure in rates), rows
        assert float(rows["style switch between batches, ms"]) >= 0  # nothing to switch: the weights are gathered
    assert all(line.count(" | ") == 5 and "CPU, float32" in line for line in table)
