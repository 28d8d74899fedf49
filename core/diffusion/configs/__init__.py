"""The architectures of the real base models, without weights or vocabulary, laid out as diffusers pipeline
folders: `sd15/` (Stable Diffusion 1.5) and `sdxl/` (SDXL base 1.0). Single-file checkpoints load with them,
and the benchmarks' full-size random-weight models are built from them.

The JSON files are generated, never edited: `python -m core.diffusion.configs` writes them from diffusers' and
transformers' own classes with the parameters in `architectures.py`."""

from __future__ import annotations

from pathlib import Path

CONFIGS_DIR = Path(__file__).resolve().parent
FAMILY_FOLDERS = {"sd1": "sd15", "sdxl": "sdxl"}


def family_config_folder(family: str) -> Path:
    return CONFIGS_DIR / FAMILY_FOLDERS[family]
