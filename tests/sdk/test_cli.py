"""The `stylelicense` command line against the running API."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stylelicense.cli import app
from tests.core.artwork import synthetic_artwork

EXAMPLE = Path(__file__).resolve().parents[2] / "sdk" / "examples" / "batch_with_report.py"


@pytest.fixture
def cli(stack, api_key):
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, list(args), env={"STYLELICENSE_API_KEY": api_key, "STYLELICENSE_URL": stack.url,
                                                   "COLUMNS": "200"})

    return invoke


def test_styles_search_and_balance(cli, style):
    listed = cli("styles")
    assert listed.exit_code == 0 and "Ink Wash" in listed.output and "김민아" in listed.output
    assert "Ink Wash" in cli("search", "ink").output
    assert "Ink Wash" not in cli("search", "harbour").output
    assert cli("balance").output.strip() == "tokens: 100"


def test_generate_a_file_then_read_the_ledger_and_verify_an_image(cli, style, replica, tmp_path: Path):
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text('{"tags": ["cat", "moon"]}\n{"tags": "boats", "aspect_ratio": "1:1"}\n')
    result = cli("generate", str(prompts), "--style", str(style.id), "--out", str(tmp_path / "out"),
                 "--poll-seconds", "0.1")
    assert result.exit_code == 0, result.output
    assert "2 of 2 rows done" in result.output
    images = sorted((tmp_path / "out").iterdir())
    assert len(images) == 2
    assert cli("balance").output.strip() == "tokens: 40"
    ledger = cli("transactions", "--type", "usage").output
    assert ledger.count("generation_reserve") == 2 and "-30" in ledger
    verified = cli("verify", str(images[0]))
    assert verified.exit_code == 0 and "Ink Wash" in verified.output and "김민아" in verified.output


def test_problems_end_with_a_message_and_exit_code_one(cli, stack, tmp_path: Path):
    bad = tmp_path / "bad.csv"
    bad.write_text("style_id,tags\n1,\n")
    result = cli("generate", str(bad))
    assert result.exit_code == 1 and "line 2: tags are missing" in result.output
    unsigned = tmp_path / "plain.png"
    synthetic_artwork(256, 256).save(unsigned)
    checked = cli("verify", str(unsigned))
    assert checked.exit_code == 1 and "no proof of origin" in checked.output
    refused = CliRunner().invoke(app, ["balance"],
                                 env={"STYLELICENSE_API_KEY": "slk_a_b", "STYLELICENSE_URL": stack.url})
    assert refused.exit_code == 1 and "401 UNAUTHORIZED" in refused.output


def test_the_documented_example_script(stack, api_key, style, replica, tmp_path: Path):
    prompts = tmp_path / "prompts.csv"
    prompts.write_text(f'style_id,tags\n{style.id},"lighthouse, dusk"\n')
    env = os.environ | {"STYLELICENSE_API_KEY": api_key, "STYLELICENSE_URL": stack.url}
    result = subprocess.run([sys.executable, str(EXAMPLE), str(prompts), str(tmp_path / "out")], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1 of 1 images; 70 tokens left"
    [row] = list(csv.DictReader((tmp_path / "out" / "report.csv").open()))
    assert row["status"] == "completed" and row["proven_by"] and Path(row["image"]).exists()
