"""`python -m training_jobs`: the entrypoint Ray Jobs runs. The request comes in SL_TRAINING_JOB (JSON).

Settings (storage, INTERNAL_API_TOKEN) come from the job's environment, as on any node of the cluster.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import tempfile
import traceback
from pathlib import Path

from core.contracts import TrainingJobRequest
from core.diffusion import Device, resolve_base_model
from core.settings import Settings
from core.storage import create_object_store
from training_jobs.job import ApiReporter, discard_outputs, run_training_job, work_dir_for
from training_jobs.train import TrainingStopped


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    threads = os.environ.get("SL_TORCH_THREADS")
    if threads:
        import torch

        torch.set_num_threads(int(threads))
    request = TrainingJobRequest.model_validate_json(os.environ["SL_TRAINING_JOB"])
    models_dir = Path(os.environ.get("SL_MODELS_DIR") or Path(tempfile.gettempdir()) / "style-license-models")
    request = request.model_copy(update={"base_model": resolve_base_model(request.base_model, models_dir)})
    settings = Settings()
    reporter = ApiReporter(request, settings.auth.internal_api_token)
    work_dir = work_dir_for(request, os.environ.get("SL_TRAINING_WORK_DIR"))
    store = create_object_store(settings.storage)
    signal.signal(signal.SIGTERM, _stopped)
    try:
        run_training_job(request, store, reporter, work_dir, Device.best(settings.diffusion.precision))
    except TrainingStopped:
        # Ray stops a job when its run is cancelled, or at an operator's word; the API answers a cancelled run's
        # report with 409. The run is over either way (the API or the reconciler records why) and nothing
        # resumes from its checkpoints. Deleted here, after this job's last upload, nothing is left behind.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second stop must not cut the clean-up short
        discard_outputs(store, request, work_dir)
        return 1
    except Exception as exc:
        traceback.print_exc()
        reporter.fail(f"{type(exc).__name__}: {exc}")
        return 1
    return 0


def _stopped(signum: int, frame: object) -> None:
    """SIGTERM, which Ray sends to stop a job: unwind from wherever training is (it has seconds before SIGKILL)."""
    raise TrainingStopped("the job was stopped")


if __name__ == "__main__":
    sys.exit(main())
