"""What differs between SD 1.x and SDXL: the family read from the model, and the sizes each draws at."""

from __future__ import annotations

import json

import pytest
import torch

from core.diffusion import BaseModelError, Device, load_pipeline
from core.diffusion.families import (
    SD1,
    SDXL,
    family_of_pipeline,
    family_of_pretrained,
    native_side,
    render_size,
)


@pytest.mark.parametrize(("native", "delivered", "rendered"), [
    # SD 1.5, trained at 512²: 1024² is drawn at 512² (it repeats subjects above that) and upscaled.
    (512, (512, 512), (512, 512)),
    (512, (1024, 1024), (512, 512)),
    (512, (512, 1024), (384, 768)),
    # SDXL, trained at 1024² (and multi-aspect buckets such as 704×1408): 512² is drawn at 1024² and reduced.
    (1024, (512, 512), (1024, 1024)),
    (1024, (1024, 1024), (1024, 1024)),
    (1024, (512, 1024), (704, 1408)),
    # The tiny development models draw at 256².
    (256, (512, 1024), (192, 384)),
])
def test_each_size_is_drawn_at_the_native_pixel_count_in_its_own_aspect(native, delivered, rendered):
    assert render_size(*delivered, native) == rendered


def test_the_family_is_read_from_the_model_itself(tiny_model, tiny_xl_model):
    assert family_of_pretrained(tiny_model) is SD1 and family_of_pretrained(tiny_xl_model) is SDXL
    pipeline = load_pipeline(tiny_xl_model, Device("cpu", torch.float32))
    assert family_of_pipeline(pipeline) is SDXL and native_side(pipeline) == 256


def test_a_model_of_no_known_family_or_missing_is_refused_in_one_line(tmp_path):
    (tmp_path / "model_index.json").write_text(json.dumps({"_class_name": "KandinskyPipeline"}))
    with pytest.raises(BaseModelError, match=r"is a KandinskyPipeline, not one of StableDiffusionPipeline, "):
        load_pipeline(str(tmp_path), Device("cpu", torch.float32))
    (tmp_path / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionXLPipeline"}))
    with pytest.raises(BaseModelError, match="cannot be loaded as Stable Diffusion XL") as refused:
        load_pipeline(str(tmp_path), Device("cpu", torch.float32))  # no components
    assert "\n" not in str(refused.value)
    with pytest.raises(BaseModelError, match="cannot be read"):
        load_pipeline(str(tmp_path / "nowhere"), Device("cpu", torch.float32))
    with pytest.raises(BaseModelError, match="model.safetensors'?: no such file"):
        load_pipeline(str(tmp_path / "model.safetensors"), Device("cpu", torch.float32))
    (tmp_path / "model.safetensors").write_bytes(b"not a checkpoint")
    with pytest.raises(BaseModelError, match="model.safetensors"):
        load_pipeline(str(tmp_path / "model.safetensors"), Device("cpu", torch.float32))
