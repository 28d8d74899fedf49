"""`make run` draws and trains on the machine's GPUs when it has any, on its CPUs otherwise."""

from __future__ import annotations

import subprocess

import pytest

from cluster.accelerators import choose_gpus, local_gpu_count, torch_is_cpu_only
from cluster.deploy import local_serve_config
from core.contracts import GENERATION_APP_NAME
from core.settings import AppSettings, Settings, StorageSettings

TWO_GPUS = "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-1)\nGPU 1: NVIDIA H100 80GB HBM3 (UUID: GPU-2)\n"


def _nvidia_smi(tmp_path, stdout: str = TWO_GPUS, returncode: int = 0):
    """A PATH with an `nvidia-smi`, and a runner that answers as the driver would."""
    (tmp_path / "nvidia-smi").touch(mode=0o755)
    calls = []

    def run(command, **_):
        calls.append(command)
        return subprocess.CompletedProcess(command, returncode, stdout=stdout, stderr="")

    return {"PATH": str(tmp_path)}, run, calls


def test_no_driver_means_the_cpu(tmp_path):
    assert local_gpu_count(environment={"PATH": str(tmp_path)}) == 0
    assert choose_gpus(0, cpu_only_torch=False) == (0, "drawing and training on the CPU (no GPU found)")


def test_the_gpus_the_driver_lists_are_counted(tmp_path):
    environment, run, calls = _nvidia_smi(tmp_path)
    assert local_gpu_count(run, environment) == 2
    assert calls == [[str(tmp_path / "nvidia-smi"), "-L"]]
    assert choose_gpus(2, cpu_only_torch=False) == (2, "drawing and training on 2 GPUs")


def test_gpus_are_left_alone_by_a_cpu_build_of_torch():
    gpus, why = choose_gpus(1, cpu_only_torch=True)
    assert gpus == 0 and "1 GPU found, but the installed torch is a CPU build" in why
    assert torch_is_cpu_only()  # the locked torch of this environment is the CPU build


@pytest.mark.parametrize(("visible", "count"), [("1", 1), ("0,1", 2), ("", 0), ("-1", 0), ("0,-1,1", 1)])
def test_cuda_visible_devices_narrows_them(tmp_path, visible, count):
    environment, run, _ = _nvidia_smi(tmp_path)
    assert local_gpu_count(run, environment | {"CUDA_VISIBLE_DEVICES": visible}) == count


def test_a_driver_that_fails_means_the_cpu(tmp_path):
    environment, run, _ = _nvidia_smi(tmp_path, stdout="NVIDIA-SMI has failed", returncode=9)
    assert local_gpu_count(run, environment) == 0


@pytest.mark.parametrize(("gpus", "replica_gpus"), [(0, 0), (2, 1)])
def test_the_generation_replica_takes_a_gpu_when_there_is_one(tmp_path, gpus, replica_gpus):
    settings = Settings(app=AppSettings(data_dir=tmp_path), storage=StorageSettings(local_dir=tmp_path / "o"))
    [generation] = [app for app in local_serve_config(settings, gpus=gpus)["applications"]
                    if app["name"] == GENERATION_APP_NAME]
    assert generation["args"]["num_gpus"] == replica_gpus
