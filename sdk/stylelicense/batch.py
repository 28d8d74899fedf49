"""Generating a prompts file: at most `concurrency` rows in flight, each requested once (its key makes a
retry or a re-run free), polled to the end, downloaded and checked for provenance before it is saved.

A row that fails (refused, failed generation, failed check) is reported and the others go on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from stylelicense.client import StyleLicense
from stylelicense.errors import StyleLicenseError
from stylelicense.prompts import PromptRow


@dataclass
class RowOutcome:
    row: PromptRow
    generation: dict | None = None
    image_path: Path | None = None
    verification: dict | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class ProvenanceMismatch(StyleLicenseError):
    """A downloaded image does not prove that it is the generation it was downloaded as."""


def check_provenance(verification: dict, generation_id: int) -> None:
    proven = verification.get("generation") or {}
    if verification.get("proof") is None or proven.get("id") != generation_id:
        raise ProvenanceMismatch(
            f"the image of generation {generation_id} proves {proven.get('id')!r} "
            f"(content credentials: {verification['content_credentials']['state']})"
        )


async def generate_batch(client: StyleLicense, rows: list[PromptRow], *, out_dir: Path | None = None,
                         concurrency: int = 4, verify: bool = True, poll_seconds: float = 2.0,
                         timeout_seconds: float = 1800.0,
                         on_update: Callable[[PromptRow, dict], None] | None = None,
                         on_done: Callable[[RowOutcome], None] | None = None) -> list[RowOutcome]:
    """Outcomes in the rows' order. `on_update` sees each polled state of a row's generation, `on_done`
    each finished row."""
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    slots = asyncio.Semaphore(concurrency)

    async def run(row: PromptRow) -> RowOutcome:
        async with slots:
            outcome = RowOutcome(row)
            try:
                await _generate_row(client, outcome, out_dir, verify, poll_seconds, timeout_seconds, on_update)
            except (StyleLicenseError, TimeoutError) as error:
                outcome.error = str(error)
        if on_done:
            on_done(outcome)
        return outcome

    if out_dir:
        out_dir.mkdir(parents=True, exist_ok=True)
    return list(await asyncio.gather(*(run(row) for row in rows)))


async def _generate_row(client: StyleLicense, outcome: RowOutcome, out_dir: Path | None, verify: bool,
                        poll_seconds: float, timeout_seconds: float,
                        on_update: Callable[[PromptRow, dict], None] | None) -> None:
    row = outcome.row
    requested = await client.request_generation(**row.request())
    if on_update:
        on_update(row, requested)
    outcome.generation = await client.wait_for_generation(
        requested["id"], poll_seconds=poll_seconds, timeout_seconds=timeout_seconds,
        on_update=(lambda generation: on_update(row, generation)) if on_update else None,
    )
    if outcome.generation["status"] != "completed":
        outcome.error = f"generation {requested['id']} failed ({outcome.generation.get('error_code')}); refunded"
        return
    if out_dir is None:
        return
    image = await client.download(requested["id"])
    if verify:
        outcome.verification = await client.verify(image)
        check_provenance(outcome.verification, requested["id"])
    outcome.image_path = out_dir / f"line-{row.line:04d}-generation-{requested['id']}{_extension(image)}"
    outcome.image_path.write_bytes(image)


def _extension(image: bytes) -> str:
    return ".jpg" if image.startswith(b"\xff\xd8") else ".png"
