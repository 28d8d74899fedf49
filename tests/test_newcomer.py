"""A newcomer's first steps: the README's two commands are the whole set-up and CI runs the README's test
command (always checked). Opt-in, each in a fresh clone of HEAD and leaving no process behind:
- `newcomer`: `make run` comes up exactly as the README says and `make stop` stops it (it installs a virtual
  environment and builds the web app first, several minutes);
- `newcomer_suite`: `make test` passes there (the whole suite again, about half an hour).
Run them with `.venv/bin/python -m pytest -m "newcomer or newcomer_suite" tests/test_newcomer.py`."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from cluster.processes import OrphanWatch, descendants
from tests.stubs.server import free_port

REPO = Path(__file__).resolve().parent.parent
# Settings a newcomer's shell would not have; the clone must come up on its embedded defaults.
NOT_A_NEWCOMERS = ("VIRTUAL_ENV", "DATABASE_URL", "TEST_DATABASE_URL", "REDIS_URL", "RAY_ADDRESS")


def readme_commands() -> list[str]:
    """The commands of the README's "Two commands" block, without their comments."""
    section = (REPO / "README.md").read_text().split("## Two commands", 1)[1]
    block = section.split("```sh", 1)[1].split("```", 1)[0]
    return [line.split("#", 1)[0].strip() for line in block.strip().splitlines()]


def test_the_readme_names_exactly_two_commands_and_the_makefile_has_both():
    assert readme_commands() == ["make run", "make test"]
    for command in readme_commands():
        dry_run = subprocess.run([*command.split(), "--dry-run"], cwd=REPO, capture_output=True, text=True)
        assert dry_run.returncode == 0, dry_run.stderr


def test_ci_runs_the_readmes_test_command():
    test_command = readme_commands()[1]
    ci_lines = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()]
    assert any(line == test_command or line.startswith(f"{test_command} ") for line in ci_lines), ci_lines


def _wait_for_the_announcement(process: subprocess.Popen, log: Path, url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()[-5000:]
        if "Style License is running" in log.read_text():
            return
        time.sleep(2)
    raise AssertionError(f"{url} not announced within {timeout:.0f} s:\n{log.read_text()[-5000:]}")


def _fresh_clone(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    clone = tmp_path / "style-license"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
    env = {name: value for name, value in os.environ.items()
           if name not in NOT_A_NEWCOMERS and not name.startswith("PYTEST_")}
    return clone, env


@pytest.mark.newcomer
@pytest.mark.timeout(1800)
def test_a_fresh_clone_comes_up_with_make_run(tmp_path):
    clone, env = _fresh_clone(tmp_path)
    port = free_port()
    # Free ports only, so the run meets nothing else on this machine.
    env |= {"SL_PORT": str(port), "SL_RAY_DASHBOARD_PORT": str(free_port()), "SL_RAY_GCS_PORT": str(free_port())}
    log = tmp_path / "make-run.log"
    started = time.monotonic()
    orphans = OrphanWatch()
    process = subprocess.Popen(readme_commands()[0].split(), cwd=clone, env=env, stdout=log.open("w"),
                               stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    stack = []
    try:
        _wait_for_the_announcement(process, log, url, timeout=1500)
        print(f"make run answered after {time.monotonic() - started:.0f} s")
        assert httpx.get(f"{url}/healthz", timeout=10).json() == {"success": True, "data": {"status": "ok"}}
        page = httpx.get(f"{url}/", timeout=10)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert '<div id="app"' in page.text and 'name="sl-config"' in page.text  # the built web app
        assert "Ray dashboard: " in log.read_text() and "it asks for the token in" in log.read_text()
    finally:
        stack = descendants(process.pid)
        subprocess.run(["make", "stop"], cwd=clone, env=env, check=False)
        try:
            process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise
        left_behind = orphans.stop_left_behind(stack)
    assert process.returncode == 0, log.read_text()[-5000:]
    assert len(stack) >= 3  # the launcher, the Ray head and what runs under it were watched...
    assert left_behind == []  # ...and none of them outlived `make stop`


@pytest.mark.newcomer_suite
@pytest.mark.timeout(3600)
def test_a_fresh_clone_passes_make_test(tmp_path):
    clone, env = _fresh_clone(tmp_path)
    log = tmp_path / "make-test.log"
    orphans = OrphanWatch()
    started = time.monotonic()
    process = subprocess.Popen(readme_commands()[1].split(), cwd=clone, env=env, stdout=log.open("w"),
                               stderr=subprocess.STDOUT, start_new_session=True)
    try:
        process.wait(timeout=3300)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        left_behind = orphans.stop_left_behind([])
    print(f"make test took {time.monotonic() - started:.0f} s")
    assert process.returncode == 0, log.read_text()[-5000:]
    assert re.search(r"=+ \d+ passed", log.read_text()[-3000:]), log.read_text()[-3000:]
    assert left_behind == [], "processes of the suite outlived it"
