"""Provenance benchmark: milliseconds per image for each signing step at 512² and 1024², and how often the
watermark's generation id survives the copies people make (with the PSNR it costs).

    .venv/bin/python -m bench.provenance [--runs 7] [--images 8]

Prints the results and appends them to docs/benchmarks.md with the machine and the date (bench/report.py).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from bench.report import publish
from core.content_credentials import read_content_credentials, sign_content_credentials
from core.image_format import ImageFormat
from core.image_metadata import encode_with_metadata
from core.provenance import sign_generated_image
from core.provenance_info import ProvenanceInfo
from core.provenance_keys import load_provenance_keys
from core.settings import AppSettings, Settings
from core.signature import ArtistMark, apply_signature
from core.watermark import embed_generation_id, read_generation_id
from tests.core.artwork import COPIES, synthetic_artwork

TIMED_SIZES = [(512, 512), (1024, 1024)]
SURVIVAL_SIZES = [(512, 512), (1024, 1024), (512, 1024)]
MARK = ArtistMark("김민아 Mina Kim")


def _info(generation_id: int) -> ProvenanceInfo:
    return ProvenanceInfo(
        artist_id=7, artist_name="김민아 Mina Kim", style_id=31, style_title="수채화 정원",
        generation_id=generation_id, seed=42, created_at=datetime(2025, 11, 27, tzinfo=UTC),
        platform="Style License", licence="Licensed style.",
    )


def _median_ms(step: Callable[[], object], runs: int) -> float:
    step()  # warm caches (fonts, watermark layout, c2pa library)
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        step()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def _steps(image, info: ProvenanceInfo, keys) -> dict[str, Callable[[], object]]:
    marked = embed_generation_id(apply_signature(image, MARK), info.generation_id, key=keys.watermark_key)
    encoded = encode_with_metadata(marked, info, ImageFormat.png)
    signed = sign_content_credentials(encoded, ImageFormat.png, info, keys)
    return {
        "signature + metadata (composite, PNG encode with iTXt/XMP)":
            lambda: encode_with_metadata(apply_signature(image, MARK), info, ImageFormat.png),
        "watermark embed": lambda: embed_generation_id(image, info.generation_id, key=keys.watermark_key),
        "C2PA signing (ES256, no claim thumbnail)":
            lambda: sign_content_credentials(encoded, ImageFormat.png, info, keys),
        "all of sign_generated_image (the three above)":
            lambda: sign_generated_image(image, info, mark=MARK, keys=keys),
        "watermark read": lambda: read_generation_id(marked, key=keys.watermark_key),
        "C2PA read + validate": lambda: read_content_credentials(signed, ImageFormat.png, keys),
    }


def time_steps(keys, runs: int) -> list[str]:
    columns: dict[str, list[float]] = {}
    for size in TIMED_SIZES:
        for name, step in _steps(synthetic_artwork(*size, seed=1), _info(1), keys).items():
            columns.setdefault(name, []).append(_median_ms(step, runs))
    rows = ["| step | 512×512 | 1024×1024 |", "|---|---:|---:|"]
    for name, values in columns.items():
        rows.append(f"| {name} | " + " | ".join(f"{value:.0f} ms" for value in values) + " |")
    return rows


def watermark_survival(keys, images: int) -> list[str]:
    rows = ["| size | PSNR | " + " | ".join(COPIES) + " |", "|---|---:|" + "---:|" * len(COPIES)]
    for size in SURVIVAL_SIZES:
        survived = dict.fromkeys(COPIES, 0)
        psnrs = []
        for index in range(images):
            original = synthetic_artwork(*size, seed=100 + index)
            generation_id = 10**9 + index
            marked = embed_generation_id(original, generation_id, key=keys.watermark_key)
            error = np.mean((np.asarray(original, float) - np.asarray(marked, float)) ** 2)
            psnrs.append(10 * np.log10(255**2 / error))
            for name, copy in COPIES.items():
                survived[name] += read_generation_id(copy(marked), key=keys.watermark_key) == generation_id
        cells = " | ".join(f"{survived[name]}/{images}" for name in COPIES)
        rows.append(f"| {size[0]}×{size[1]} | {statistics.mean(psnrs):.1f} dB | {cells} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs per step (the median is reported)")
    parser.add_argument("--images", type=int, default=8, help="images per size in the survival table")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir:
        keys = load_provenance_keys(Settings(app=AppSettings(data_dir=Path(data_dir))))
        timing = time_steps(keys, arguments.runs)
        survival = watermark_survival(keys, arguments.images)
    command = f".venv/bin/python -m bench.provenance --runs {arguments.runs} --images {arguments.images}"
    publish("Provenance", command, [
        f"Milliseconds per image, median of {arguments.runs} runs (synthetic illustration-like images):",
        "",
        *timing,
        "",
        f"Watermark survival: generation ids read back correctly out of {arguments.images} images per size, "
        "after each kind of copy.",
        "",
        *survival,
    ])

if __name__ == "__main__":
    main()
