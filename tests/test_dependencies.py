"""requirements.lock is the environment: what runs is what it pins, and it satisfies every requirement of the
project and the SDK, extras included (`pip check` sees only what an installed package itself requires)."""

from __future__ import annotations

import re
import sysconfig
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parent.parent
PROJECTS = [REPO / "pyproject.toml", REPO / "sdk" / "pyproject.toml"]


def _locked() -> dict[str, Version]:
    pins = re.findall(r"^([A-Za-z0-9._-]+)==(\S+)", (REPO / "requirements.lock").read_text(), re.MULTILINE)
    return {canonicalize_name(name): Version(version) for name, version in pins}


def _requirements() -> list[tuple[str, Requirement]]:
    found = []
    for path in PROJECTS:
        project = tomllib.loads(path.read_text())["project"]
        groups = {"": project.get("dependencies", [])} | project.get("optional-dependencies", {})
        for group, requirements in groups.items():
            found += [(f"{path.relative_to(REPO)} [{group}]", Requirement(text)) for text in requirements]
    return found


def test_the_lock_satisfies_every_requirement_of_both_projects():
    locked = _locked()
    unmet = [f"{where}: {requirement}" for where, requirement in _requirements()
             if not requirement.specifier.contains(
                 locked.get(canonicalize_name(requirement.name), Version("0.dev0")), prereleases=True)]
    assert unmet == [], "run `make lock` after changing a pyproject.toml"


def test_the_environment_is_exactly_the_lock():
    # This environment's own folders only: a process may put others on sys.path (the base Python's, say).
    folders = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    installed = {canonicalize_name(dist.metadata["Name"]): Version(dist.version)
                 for dist in metadata.distributions(path=folders)}
    ours = {"style-license", "stylelicense"}
    assert {name: version for name, version in installed.items() if name not in ours} == _locked()


def test_the_lock_pins_the_cpu_build_of_torch():
    """An unpinned or CUDA torch is a multi-GB download that the CPU machines here cannot use."""
    makefile_pin = re.search(r"^TORCH_PIN := torch==(\S+)$", (REPO / "Makefile").read_text(), re.MULTILINE).group(1)
    assert _locked()["torch"] == Version(makefile_pin) and makefile_pin.endswith("+cpu")
    assert not [name for name in _locked() if name.startswith("nvidia-")]
