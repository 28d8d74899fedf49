"""The generation Serve application: `build_app(config)` is what cluster/serve-generation.yaml imports.

The API calls it as

    handle = serve.get_app_handle(GENERATION_APP_NAME)
    response = handle.options(multiplexed_model_id=job.adapter_key, stream=True).generate.remote(
        job.model_dump(mode="json"))
    async for message in response: ...   # {"kind": "progress", ...} dicts, then one {"kind": "result", ...}

The multiplexed model id is the style's adapter key: Serve sends a style's requests to a replica that
already holds its adapter, and each replica keeps up to `max_styles_per_replica` of them (least recently
used first out). The deployment options come from the typed config; the class itself only adapts
`GenerationServer` to Serve.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from pydantic import ValidationError
from ray import serve
from ray.serve import Application

from core.contracts import GenerationJob, GenerationRejected
from core.diffusion import BaseModelError
from core.settings import Settings
from serve_apps.generation.config import GenerationAppConfig
from serve_apps.generation.server import GenerationServer, LoadedStyle

DEPLOYMENT_NAME = "StyleGenerator"
# Serve's logger: Serve writes its records to the replica's log as JSON (deployment_options), extra fields
# included, beside Serve's own request id.
_log = logging.getLogger("ray.serve")


class StyleGenerator:
    """One replica: the base model, the styles Serve has multiplexed onto it, and its batches."""

    def __init__(self, config: GenerationAppConfig):
        # Settings come from the replica's environment, like every other process of the platform.
        try:
            self.server = GenerationServer.from_settings(Settings(), config)
        except BaseModelError as unusable:
            _log.error("the replica cannot start: %s", unusable)
            raise

        # Applied here rather than as a method decorator because the limit comes from the config.
        async def load_style(adapter_key: str) -> LoadedStyle:
            return await self.server.load_style(adapter_key)

        self._style = serve.multiplexed(max_num_models_per_replica=config.max_styles_per_replica)(load_style)

    async def generate(self, job: dict) -> AsyncIterator[dict]:
        try:
            request = GenerationJob.model_validate(job)
        except ValidationError as invalid:
            raise GenerationRejected(f"not a generation job: {invalid}") from None
        if serve.get_multiplexed_model_id() != request.adapter_key:
            raise GenerationRejected("call with multiplexed_model_id set to the job's adapter_key")
        async for message in self.server.generate(request, self._style):
            if message["kind"] == "result":
                _log.info("generation drawn", extra={"generation_id": request.generation_id,
                                                     "api_request_id": request.request_id,
                                                     "timings": message.get("timings")})
            yield message

    async def describe(self) -> dict:
        """The styles this replica holds, its loads, downloads and batch sizes."""
        context = serve.get_replica_context()
        return {"replica": context.replica_id.unique_id, **self.server.describe()}


def build_app(config: GenerationAppConfig) -> Application:
    """The application for `serve run` / a Serve config (`args:` are validated into the config)."""
    config = GenerationAppConfig.model_validate(config)
    deployment = serve.deployment(StyleGenerator, name=DEPLOYMENT_NAME, **config.deployment_options())
    return deployment.bind(config)
