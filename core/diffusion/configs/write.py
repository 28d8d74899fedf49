"""Writes each architecture's pipeline folder, configuration files only."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from diffusers import DiffusionPipeline
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from core.diffusion.configs.architectures import ARCHITECTURES


def write_configs(root: Path) -> None:
    """`root/<architecture>/` for every architecture, replacing what was there."""
    for name, build in ARCHITECTURES.items():
        folder = root / name
        shutil.rmtree(folder, ignore_errors=True)
        write_pipeline_configs(build(), folder)


def write_pipeline_configs(pipeline: DiffusionPipeline, folder: Path) -> None:
    pipeline.save_config(folder)  # model_index.json
    for name, component in pipeline.components.items():
        if component is None:
            continue
        if isinstance(component, PreTrainedModel):
            component.config.save_pretrained(folder / name)
        elif isinstance(component, PreTrainedTokenizerBase):
            _write_tokenizer_config(component, folder / name)
        else:  # diffusers models and schedulers
            component.save_config(folder / name)


def _write_tokenizer_config(tokenizer: PreTrainedTokenizerBase, folder: Path) -> None:
    # save_pretrained also writes the (placeholder) vocabulary: keep its configuration only (transformers 5
    # holds the special tokens there too).
    with tempfile.TemporaryDirectory() as saved:
        tokenizer.save_pretrained(saved)
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(Path(saved) / "tokenizer_config.json", folder / "tokenizer_config.json")
