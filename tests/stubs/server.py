"""Run an ASGI app on a free loopback port in a background thread: stubs of outside services, and the API
itself where a test needs real concurrent HTTP clients."""

from __future__ import annotations

import threading
import time

import uvicorn

from cluster.ports import free_port


class BackgroundServer:
    def __init__(self, app, port: int | None = None, *, lifespan: bool = False):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on" if lifespan else "off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> BackgroundServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("stub server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
