"""`stylelicense`: the command line for batch scripts. The API key and server come from options or from
STYLELICENSE_API_KEY and STYLELICENSE_URL."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from stylelicense.batch import RowOutcome, generate_batch
from stylelicense.client import DEFAULT_BASE_URL, StyleLicense
from stylelicense.errors import StyleLicenseError
from stylelicense.prompts import PromptRow, read_prompts
from stylelicense.retry import RetryNotice

app = typer.Typer(help="Style License from the command line: styles, batch generation, tokens.",
                  no_args_is_help=True)
console = Console()
errors = Console(stderr=True)
T = TypeVar("T")


@dataclass(frozen=True)
class Connection:
    api_key: str
    base_url: str

    def client(self, on_retry: Callable[[RetryNotice], None] | None = None) -> StyleLicense:
        return StyleLicense(self.api_key, self.base_url, on_retry=on_retry)


@app.callback()
def connect(
    ctx: typer.Context,
    api_key: Annotated[str, typer.Option(envvar="STYLELICENSE_API_KEY",
                                         help="slk_..., made with POST /api/v1/auth/api-keys")],
    base_url: Annotated[str, typer.Option("--url", envvar="STYLELICENSE_URL")] = DEFAULT_BASE_URL,
) -> None:
    ctx.obj = Connection(api_key, base_url)


def _run(ctx: typer.Context, work: Callable[[StyleLicense], Awaitable[T]], **client_options) -> T:
    """Runs `work` with a client; an API or file error ends the command with its message and exit code 1."""

    async def main() -> T:
        async with ctx.obj.client(**client_options) as client:
            return await work(client)

    try:
        return asyncio.run(main())
    except StyleLicenseError as error:
        errors.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from None


async def _collect(items) -> list[dict]:
    return [item async for item in items]


def _styles_table(styles: list[dict]) -> Table:
    table = Table("id", "title", "artist", "price", "generations", "tags")
    for style in styles:
        table.add_row(str(style["id"]), style["title"], _artist_name(style),
                      str(style.get("generation_cost_tokens", "")), str(style.get("generation_count", "")),
                      ", ".join(style.get("tags", [])))
    return table


def _artist_name(style: dict) -> str:
    artist = style.get("artist") or {}
    return artist.get("artist_name") or artist.get("name") or ""


@app.command()
def styles(ctx: typer.Context,
           sort: Annotated[str, typer.Option(help="recent or popular")] = "recent",
           tag: Annotated[str | None, typer.Option(help="only styles with this tag")] = None,
           limit: Annotated[int, typer.Option(min=1)] = 20) -> None:
    """List trained styles."""
    found = _run(ctx, lambda client: _collect(client.styles(sort=sort, tag=tag, limit=limit)))
    console.print(_styles_table(found))


@app.command()
def search(ctx: typer.Context, query: str, limit: Annotated[int, typer.Option(min=1)] = 20) -> None:
    """Search styles by name and tag."""
    found = _run(ctx, lambda client: _collect(client.search_styles(query, limit=limit)))
    console.print(_styles_table(found))


@app.command()
def balance(ctx: typer.Context) -> None:
    """My token balance (and, for artists, what my style earned)."""
    result = _run(ctx, lambda client: client.balance())
    console.print(f"tokens: {result['token_balance']}")
    if result.get("earned_token_balance") is not None:
        console.print(f"earned: {result['earned_token_balance']}")


@app.command()
def transactions(ctx: typer.Context,
                 type: Annotated[str, typer.Option(help="all, purchase, usage or earnings")] = "all",
                 limit: Annotated[int, typer.Option(min=1)] = 20) -> None:
    """My ledger, newest first."""
    rows = _run(ctx, lambda client: _collect(client.transactions(type=type, limit=limit)))
    table = Table("id", "when", "kind", "amount", "balance", "generation", "memo")
    for row in rows:
        table.add_row(str(row["id"]), row["created_at"][:19].replace("T", " "), row["kind"], f"{row['amount']:+d}",
                      row["balance"], str(row["related_generation_id"] or ""), row["memo"] or "")
    console.print(table)


@app.command()
def verify(ctx: typer.Context, image: Path) -> None:
    """Where an image comes from: the artist, style and generation its provenance proves."""
    result = _run(ctx, lambda client: client.verify(image.read_bytes(), image.name))
    if result["proof"] is None:
        console.print(f"no proof of origin (content credentials: {result['content_credentials']['state']})")
        raise typer.Exit(1)
    console.print(f"proven by {result['proof']}: generation {result['generation']['id']}, "
                  f"style {result['style']['title']!r} by {result['artist']['name']}")


@app.command()
def generate(
    ctx: typer.Context,
    prompts: Annotated[Path, typer.Argument(help="a .csv or .jsonl file, one image per row")],
    out: Annotated[Path | None, typer.Option(help="save the signed images here")] = None,
    style: Annotated[int | None, typer.Option(help="style id for rows without one")] = None,
    concurrency: Annotated[int, typer.Option(min=1, max=32)] = 4,
    check_provenance: Annotated[bool, typer.Option(help="verify each image before saving it")] = True,
    run_name: Annotated[str, typer.Option(help="a new name generates the same file again (new charges)")] = "",
    poll_seconds: Annotated[float, typer.Option(min=0.1)] = 2.0,
) -> None:
    """Generate every row of a prompts file. Re-running the same file charges nothing twice."""
    try:
        rows = read_prompts(prompts, default_style_id=style, run_name=run_name)
    except (StyleLicenseError, OSError) as error:
        errors.print(f"[red]{prompts}: {error}[/red]")
        raise typer.Exit(1) from None
    with BatchProgress(len(rows)) as progress:
        outcomes = _run(ctx, lambda client: generate_batch(
            client, rows, out_dir=out, concurrency=concurrency, verify=check_provenance, poll_seconds=poll_seconds,
            on_update=progress.update, on_done=progress.done), on_retry=progress.retrying)
    console.print(_outcomes_table(outcomes))
    failed = sum(not outcome.ok for outcome in outcomes)
    console.print(f"{len(outcomes) - failed} of {len(outcomes)} rows done")
    if failed:
        raise typer.Exit(1)


class BatchProgress:
    """One bar for the file and one per row in flight, showing its status and step progress."""

    def __init__(self, total: int):
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[status]}"), TimeElapsedColumn(), console=console)
        self.overall = self.progress.add_task("all rows", total=total, status="")
        self.rows: dict[int, TaskID] = {}

    def __enter__(self) -> BatchProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()

    def update(self, row: PromptRow, generation: dict) -> None:
        if row.line not in self.rows:
            self.rows[row.line] = self.progress.add_task(f"line {row.line}", total=100, status="")
        percent = 100 if generation["status"] == "completed" else (generation.get("progress") or {}).get(
            "progress_percent", 0)
        queue = generation.get("queue")
        status = generation["status"] + (f" (#{queue['position']} in queue)" if queue else "")
        self.progress.update(self.rows[row.line], completed=percent, status=status)

    def done(self, outcome: RowOutcome) -> None:
        if outcome.row.line in self.rows:
            self.progress.remove_task(self.rows.pop(outcome.row.line))
        self.progress.advance(self.overall)

    def retrying(self, notice: RetryNotice) -> None:
        self.progress.console.print(f"{notice.reason}: retrying {notice.method} {notice.path} "
                                    f"in {notice.delay_seconds:.1f}s")


def _outcomes_table(outcomes: list[RowOutcome]) -> Table:
    table = Table("line", "generation", "status", "image", "problem")
    for outcome in outcomes:
        generation = outcome.generation or {}
        table.add_row(str(outcome.row.line), str(generation.get("id", "")), generation.get("status", "not sent"),
                      str(outcome.image_path or ""), outcome.error or "")
    return table
