"""Generate every row of a prompts file with the SDK, save the signed images, and write a report of what
each row became (generation id, status, file, provenance) beside them.

    STYLELICENSE_API_KEY=slk_... python batch_with_report.py prompts.csv images/

Running it again with the same file charges nothing twice: each row keeps its Idempotency-Key.
"""

from __future__ import annotations

import asyncio
import csv
import os
import sys
from pathlib import Path

from stylelicense import RetryNotice, StyleLicense, generate_batch, read_prompts


def report_retry(notice: RetryNotice) -> None:
    print(f"{notice.reason}: waiting {notice.delay_seconds:.1f}s", file=sys.stderr)


async def main(prompts: Path, out_dir: Path) -> int:
    rows = read_prompts(prompts)
    async with StyleLicense(os.environ["STYLELICENSE_API_KEY"],
                            os.environ.get("STYLELICENSE_URL", "http://localhost:8000"),
                            on_retry=report_retry) as client:
        outcomes = await generate_batch(client, rows, out_dir=out_dir, concurrency=4)
        balance = await client.balance()
    with (out_dir / "report.csv").open("w", newline="") as file:
        report = csv.writer(file)
        report.writerow(["line", "generation_id", "status", "image", "proven_by", "problem"])
        for outcome in outcomes:
            generation = outcome.generation or {}
            report.writerow([outcome.row.line, generation.get("id"), generation.get("status"), outcome.image_path,
                             (outcome.verification or {}).get("proof"), outcome.error])
    done = sum(outcome.ok for outcome in outcomes)
    print(f"{done} of {len(outcomes)} images; {balance['token_balance']} tokens left")
    return 0 if done == len(outcomes) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main(Path(sys.argv[1]), Path(sys.argv[2]))))
