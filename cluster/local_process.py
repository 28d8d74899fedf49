"""`make run`'s launcher (`python -m cluster.local`) as a child process on free ports: for the load benchmark and
the launcher's tests, which drive the whole platform from outside as a person would."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from cluster.ports import free_port
from cluster.processes import OrphanWatch, descendants

REPO = Path(__file__).resolve().parent.parent
ANNOUNCEMENT = "Style License is running"


class LeftBehind(RuntimeError):
    """Processes the platform started were still running after it stopped (they are stopped now)."""


class LocalPlatform:
    """The launcher on `data_dir`; `database_url` None lets it start its embedded PostgreSQL there."""

    def __init__(self, data_dir: Path, *, database_url: str | None = None, **settings: str):
        # Should the launcher die without stopping its stack, what it started is handed here, not to init; the
        # stack's processes are those that inherited its data folder.
        self._orphans = OrphanWatch(lambda process: process.environ().get("SL_DATA_DIR") == str(data_dir))
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SL_DATABASE_URL")}
        self.port, self.dashboard_port = free_port(), free_port()
        env |= {"SL_DATA_DIR": str(data_dir), "SL_PORT": str(self.port), "SL_ENV": "development",
                "SL_RAY_DASHBOARD_PORT": str(self.dashboard_port), "SL_RAY_GCS_PORT": str(free_port())} | settings
        if database_url:
            env["DATABASE_URL"] = database_url
        self.url = f"http://127.0.0.1:{self.port}"
        data_dir.mkdir(parents=True, exist_ok=True)
        self.log = data_dir / f"launcher-{self.port}.log"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cluster.local"], cwd=REPO, env=env,
            stdout=self.log.open("w"), stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 300) -> dict:
        """/readyz's answer, once the API answers and the launcher has announced where (it polls the API too)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the launcher exited with {self.process.returncode}:\n{self.log.read_text()}")
            try:
                response = httpx.get(f"{self.url}/readyz", timeout=2)
                if response.status_code == 200 and ANNOUNCEMENT in self.log.read_text():
                    return response.json()
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise TimeoutError(f"the platform was not ready in {timeout:g} s:\n{self.log.read_text()}")

    def logged(self, field: str) -> str:
        """A field of the launcher's JSON log lines (where it put the database, the S3 endpoint...)."""
        for line in self.log.read_text().splitlines():
            if line.startswith("{") and f'"{field}"' in line:
                return json.loads(line)[field]
        raise LookupError(f"the launcher did not log {field}")

    def stop(self, timeout: float = 90) -> int:
        """SIGTERM, as `make stop` sends; the launcher's exit status (SIGKILL's after `timeout`). Raises
        LeftBehind when a process it started outlived it."""
        if self.process.poll() is not None:  # exited on its own: what it left is among the adopted orphans
            started = []
        else:
            started = descendants(self.process.pid)
            self.process.send_signal(signal.SIGTERM)
        try:
            status = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            status = self.process.wait()
        left_behind = self._orphans.stop_left_behind(started)
        if left_behind:
            raise LeftBehind(f"still running after the launcher stopped: {left_behind}")
        return status

    def __enter__(self) -> LocalPlatform:
        self.wait_ready()
        return self

    def __exit__(self, *_) -> None:
        self.stop()
