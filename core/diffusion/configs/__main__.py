"""`python -m core.diffusion.configs`: regenerate the architecture folders after changing `architectures.py`
or upgrading diffusers/transformers (tests/core/test_single_file.py checks they are current)."""

from __future__ import annotations

from core.diffusion.configs import CONFIGS_DIR
from core.diffusion.configs.write import write_configs

if __name__ == "__main__":
    write_configs(CONFIGS_DIR)
