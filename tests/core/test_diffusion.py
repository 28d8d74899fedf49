"""The base model loads in the precision it is asked for: a GPU must never run fp32 by a silently ignored
argument (the installed diffusers takes `dtype`; older releases took `torch_dtype`)."""

from __future__ import annotations

import pytest
import torch

from core.diffusion import Device, load_pipeline, tune_for_gpu


def test_every_component_loads_in_the_asked_precision(tiny_model):
    pipeline = load_pipeline(tiny_model, Device("cpu", torch.bfloat16))
    assert {pipeline.unet.dtype, pipeline.vae.dtype, pipeline.text_encoder.dtype} == {torch.bfloat16}


@pytest.mark.skipif(torch.cuda.is_available(), reason="a machine without a GPU")
def test_the_cpu_draws_in_fp32():
    assert Device.best() == Device("cpu", torch.float32)


def test_the_gpu_settings_leave_the_image_as_it_was(tiny_model):
    """Applied here on the CPU (a GPU applies them at load): a layout and a decoding schedule, not a change of
    what is drawn."""
    pipeline = load_pipeline(tiny_model, Device("cpu", torch.float32))

    def draw():
        return pipeline(["a cat"], num_inference_steps=2, height=64, width=64, output_type="np",
                        generator=torch.Generator().manual_seed(7)).images

    before = draw()
    tune_for_gpu(pipeline)
    assert pipeline.unet.conv_in.weight.is_contiguous(memory_format=torch.channels_last)
    assert pipeline.vae.use_tiling
    assert abs(draw() - before).max() < 1e-4
