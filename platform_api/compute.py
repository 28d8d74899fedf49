"""The only place the API talks to Ray. Training runs are Ray Jobs submitted over the dashboard's Jobs API
(the blocking client runs off the event loop); generations are calls to the generation Serve application."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator
from functools import cached_property

from core.contracts import GENERATION_APP_NAME, GenerationJob, TrainingJobRequest
from core.settings import Settings, shared_environment

log = logging.getLogger(__name__)

FINISHED_BAD = frozenset({"FAILED", "STOPPED"})


def new_submission_id(run_id: int) -> str:
    """Chosen once when the run is created and stored with it; resubmitting the run reuses it, so Ray
    refuses a second job for the same run. The random part keeps ids unique across databases."""
    return f"style-training-run-{run_id}-{secrets.token_hex(4)}"


def _job_environment(settings: Settings, request: TrainingJobRequest) -> dict[str, str]:
    """What the job reads from its environment: the request and the settings it shares with the API."""
    values = shared_environment(settings) | {
        "SL_TRAINING_JOB": request.model_dump_json(),
        "INTERNAL_API_TOKEN": settings.auth.internal_api_token,
        "SL_TORCH_THREADS": str(settings.ray.job_torch_threads) if settings.ray.job_torch_threads else None,
        "SL_TRAINING_WORK_DIR": settings.ray.job_work_dir,
        "SL_MODELS_DIR": settings.ray.job_models_dir,
    }
    return {name: value for name, value in values.items() if value}


def _entrypoint(settings: Settings) -> str:
    command = f"{settings.ray.job_python} -m training_jobs"
    return f"nice -n {settings.ray.job_niceness} {command}" if settings.ray.job_niceness else command


class TrainingJobs:
    def __init__(self, settings: Settings):
        self.settings = settings

    @cached_property
    def _client(self):
        from ray.job_submission import JobSubmissionClient

        return JobSubmissionClient(self.settings.ray.dashboard_url)

    async def submit(self, request: TrainingJobRequest, job_id: str) -> None:
        def submit() -> None:
            try:
                self._client.submit_job(
                    entrypoint=_entrypoint(self.settings),
                    submission_id=job_id,
                    runtime_env={"env_vars": _job_environment(self.settings, request)},
                    entrypoint_num_gpus=self.settings.ray.training_num_gpus,
                    entrypoint_num_cpus=1,
                    metadata={"style_id": str(request.style_id), "run_id": str(request.run_id)},
                )
            except RuntimeError as error:
                if "already exists" not in str(error):
                    raise
                log.info("training job already submitted", extra={"submission_id": job_id})

        await asyncio.to_thread(submit)

    async def status(self, job_id: str) -> str | None:
        """PENDING, RUNNING, SUCCEEDED, FAILED or STOPPED; None when Ray does not know the job."""

        def status() -> str | None:
            try:
                return str(self._client.get_job_status(job_id).value)
            except RuntimeError as error:
                if "does not exist" in str(error) or "404" in str(error):
                    return None
                raise

        return await asyncio.to_thread(status)

    async def stop(self, job_id: str) -> None:
        await asyncio.to_thread(self._client.stop_job, job_id)


class Generations:
    """Calls the generation Serve application over a DeploymentHandle, holding each call open while it
    streams, so Serve's autoscaling sees the load."""

    def __init__(self, settings: Settings):
        self.settings = settings

    def _handle(self):
        import ray
        from ray import serve

        if not ray.is_initialized():
            ray.init(address=self.settings.ray.address or "auto", log_to_driver=False)
        return serve.get_app_handle(GENERATION_APP_NAME)

    async def stream(self, job: GenerationJob) -> AsyncIterator[dict]:
        """Progress dicts, then the result dict; the replica's error is raised as it happened there."""
        handle = await asyncio.to_thread(self._handle)
        response = handle.options(multiplexed_model_id=job.adapter_key, stream=True).generate.remote(
            job.model_dump(mode="json")
        )
        async for message in response:
            yield message
