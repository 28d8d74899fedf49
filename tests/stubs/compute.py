"""Ray stand-ins for tests that run the API without a cluster, so the test process never attaches to (or
submits work to) whatever Ray cluster runs on this machine."""

from __future__ import annotations

from fastapi import FastAPI


class ServeDown:
    """`app.state.generations` while no generation application is deployed: every dispatch fails as it does
    when Serve is unreachable, and the generation goes `retrying`."""

    async def stream(self, job):
        raise ConnectionError("the generation application is not deployed in this test")
        yield  # an async generator, like the real one


class JobsDown:
    """`app.state.training_jobs` without a Ray dashboard: a submission fails after its run is committed, and
    the run stays `pending` for the reconciler."""

    async def submit(self, request, job_id: str) -> None:
        raise ConnectionError("no Ray dashboard in this test")

    async def status(self, job_id: str) -> None:
        return None

    async def stop(self, job_id: str) -> None:
        return None


def without_ray(app: FastAPI) -> FastAPI:
    app.state.generations = ServeDown()
    app.state.training_jobs = JobsDown()
    return app
