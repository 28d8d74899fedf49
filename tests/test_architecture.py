"""The import rules of docs/architecture.md, checked on every file of the repository."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# Which of our packages each package may import.
ALLOWED_INTERNAL = {
    "core": set(),
    "db": {"core"},
    "platform_api": {"core", "db"},
    "serve_apps": {"core"},
    "training_jobs": {"core"},
    "cluster": {"core", "db", "platform_api", "serve_apps", "training_jobs"},
    # The SDK is installed on its own (`pip install ./sdk`): it speaks to the API over HTTP only.
    "sdk": set(),
}
# The one file that wraps the API in a Serve deployment.
INTERNAL_EXCEPTIONS = {"serve_apps/ingress.py": {"platform_api", "db"}}

WEB_AND_DATABASE = {"fastapi", "starlette", "sqlalchemy", "alembic", "psycopg"}
MACHINE_LEARNING = {"torch", "diffusers", "peft", "transformers", "accelerate", "safetensors"}
FORBIDDEN_THIRD_PARTY = {
    "core": WEB_AND_DATABASE | MACHINE_LEARNING | {"ray"},
    "db": MACHINE_LEARNING | {"fastapi", "starlette", "ray"},
    "platform_api": MACHINE_LEARNING,
    "serve_apps": WEB_AND_DATABASE,
    "training_jobs": WEB_AND_DATABASE,
    "cluster": MACHINE_LEARNING,
    "sdk": WEB_AND_DATABASE | MACHINE_LEARNING | {"ray"},
}
THIRD_PARTY_EXCEPTIONS = {
    "serve_apps/ingress.py": WEB_AND_DATABASE,
    # torch lives in this one core package, imported only by Serve replicas and training jobs.
    "core/diffusion/": MACHINE_LEARNING,
}


def _third_party_exceptions(relative: str) -> set[str]:
    """A key ending in "/" covers every file under that folder."""
    return set().union(*(allowed for key, allowed in THIRD_PARTY_EXCEPTIONS.items()
                         if relative == key or (key.endswith("/") and relative.startswith(key))))


def _imported_top_levels(source: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def import_violations(root: Path) -> list[str]:
    """Every import under `root` that crosses the rules, as 'path: imports name'."""
    found = []
    for package, allowed in ALLOWED_INTERNAL.items():
        for path in sorted((root / package).rglob("*.py")):
            relative = path.relative_to(root).as_posix()
            if relative.startswith("db/migrations/versions/"):
                continue
            imported = _imported_top_levels(path.read_text())
            internal_ok = allowed | {package} | INTERNAL_EXCEPTIONS.get(relative, set())
            forbidden = FORBIDDEN_THIRD_PARTY[package] - _third_party_exceptions(relative)
            for name in sorted(imported):
                if (name in ALLOWED_INTERNAL and name not in internal_ok) or name in forbidden:
                    found.append(f"{relative}: imports {name}")
    return found


def test_repository_follows_the_import_rules():
    assert import_violations(REPO) == []


def test_a_planted_violation_is_reported(tmp_path: Path):
    planted = {
        "core/storage.py": "import os\nfrom db.models import User\n",
        "core/images.py": "def f():\n    import fastapi\n",
        "serve_apps/generation.py": "from platform_api.app import create_app\n",
        "training_jobs/train.py": "import sqlalchemy.orm\n",
        "platform_api/styles.py": "import torch\n",
        "serve_apps/ingress.py": "from platform_api.app import create_app\nimport fastapi\n",
        "core/diffusion/families.py": "import torch\nimport diffusers\n",
        "core/diffusion.py": "import torch\n",
    }
    for relative, source in planted.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)

    assert import_violations(tmp_path) == [
        "core/diffusion.py: imports torch",
        "core/images.py: imports fastapi",
        "core/storage.py: imports db",
        "platform_api/styles.py: imports torch",
        "serve_apps/generation.py: imports platform_api",
        "training_jobs/train.py: imports sqlalchemy",
    ]
