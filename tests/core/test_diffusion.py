"""The base model loads in the precision it is asked for: a GPU must never run fp32 by a silently ignored
argument (the installed diffusers takes `dtype`; older releases took `torch_dtype`)."""

from __future__ import annotations

import pytest
import torch

from core.diffusion import Device, load_pipeline, tune_for_gpu
from core.settings import Precision
from tests.helpers import tiny_model_of


@pytest.mark.parametrize("family", ["sd1", "sdxl"])
def test_every_component_loads_in_the_asked_precision(family, request):
    pipeline = load_pipeline(tiny_model_of(request, family), Device("cpu", torch.bfloat16))
    modules = [module for module in pipeline.components.values() if isinstance(module, torch.nn.Module)]
    assert len(modules) == {"sd1": 3, "sdxl": 4}[family]
    assert {module.dtype for module in modules} == {torch.bfloat16}


@pytest.mark.parametrize(("cuda", "bf16", "precision", "expected"), [
    (False, False, Precision.bf16, Device("cpu", torch.float32)),
    (True, True, Precision.auto, Device("cuda", torch.bfloat16)),
    (True, False, Precision.auto, Device("cuda", torch.float16)),
    (True, False, Precision.bf16, Device("cuda", torch.bfloat16)),  # asked for: bf16, even emulated
    (True, True, Precision.fp16, Device("cuda", torch.float16)),
    (True, True, Precision.fp32, Device("cuda", torch.float32)),
])
def test_the_device_and_precision_follow_the_machine_and_the_setting(monkeypatch, cuda, bf16, precision, expected):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    # Native bf16 only: torch's default also says yes for GPUs that emulate it.
    monkeypatch.setattr(torch.cuda, "is_bf16_supported",
                        lambda including_emulation=True: bf16 and not including_emulation)
    assert Device.best(precision) == expected


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
