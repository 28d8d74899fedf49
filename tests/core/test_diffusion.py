"""The base model loads in the precision it is asked for: a GPU must never run fp32 by a silently ignored
argument (the installed diffusers takes `dtype`; older releases took `torch_dtype`)."""

from __future__ import annotations

import pytest
import torch

from core.diffusion import Device, load_pipeline


def test_every_component_loads_in_the_asked_precision(tiny_model):
    pipeline = load_pipeline(tiny_model, Device("cpu", torch.bfloat16))
    assert {pipeline.unet.dtype, pipeline.vae.dtype, pipeline.text_encoder.dtype} == {torch.bfloat16}


@pytest.mark.skipif(torch.cuda.is_available(), reason="a machine without a GPU")
def test_the_cpu_draws_in_fp32():
    assert Device.best() == Device("cpu", torch.float32)
