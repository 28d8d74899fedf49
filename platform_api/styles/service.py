"""Styles (spec §6.5): creation with the training images, the public and the artist's views, edits."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from fastapi import UploadFile
from sqlalchemy import Row, Select, func, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from core.artworks import prepare_training_image, store_prepared_image
from core.images import MAX_UPLOAD_BYTES, ImageRejected
from core.storage import ObjectStore
from db.models import Artist, Artwork, Follow, Style, Tag, TrainingRun, User, artwork_tags, style_tags
from platform_api import errors
from platform_api.errors import ApiError
from platform_api.pagination import PageParams, Slice, paginate_rows
from platform_api.styles import epochs
from platform_api.styles.schemas import (
    StyleArtist,
    StyleForm,
    StyleOut,
    StyleSort,
    StyleUpdate,
    TrainingProgress,
)
from platform_api.tagging import count_style_usage, normalize_tag, tag_ids
from platform_api.users.schemas import ImageUrl

MIN_IMAGES, MAX_IMAGES = 10, 100
MAX_STYLES_PER_ARTIST = 1  # the MVP's rule


def _invalid(location: list, message: str) -> ApiError:
    return ApiError(errors.VALIDATION_ERROR, details={"errors": [{"loc": location, "message": message}]})


def parse_image_tags(raw: str, image_count: int) -> list[list[str]]:
    """The `tags` form field: one array of English tags per image, at least one tag each."""
    try:
        tags = json.loads(raw)
    except ValueError:
        raise _invalid(["body", "tags"], "tags must be a JSON array of arrays of strings") from None
    if not isinstance(tags, list) or not all(isinstance(row, list) for row in tags):
        raise _invalid(["body", "tags"], "tags must be a JSON array of arrays of strings")
    if len(tags) != image_count:
        raise _invalid(["body", "tags"], f"one tag list per image: {image_count} images, {len(tags)} lists")
    normalized = []
    for index, row in enumerate(tags):
        if not row:
            raise _invalid(["body", "tags", index], "every image needs at least one tag")
        try:
            normalized.append(list(dict.fromkeys(normalize_tag(str(tag)) for tag in row if isinstance(tag, str))))
        except ValueError as error:
            raise _invalid(["body", "tags", index], str(error)) from None
        if len(normalized[-1]) != len(row):
            raise _invalid(["body", "tags", index], "tags must be distinct strings")
    return normalized


async def _lock_artist(db: AsyncSession, user: User) -> Artist:
    """Serialises one artist's concurrent style creations, so the one-style rule holds under races."""
    return await db.scalar(select(Artist).where(Artist.id == user.artist.id).with_for_update())


async def create_style(
    db: AsyncSession, store: ObjectStore, user: User, form: StyleForm, images: Sequence[UploadFile]
) -> Style:
    """Validate everything, then store the images and create the style pending training. Nothing is stored
    when anything is refused."""
    if not MIN_IMAGES <= len(images) <= MAX_IMAGES:
        raise _invalid(["body", "images"], f"a style needs {MIN_IMAGES} to {MAX_IMAGES} images, got {len(images)}")
    image_tags = parse_image_tags(form.tags, len(images))
    try:
        trigger_tag = normalize_tag(form.title)
    except ValueError as error:
        raise _invalid(["body", "title"], f"the title becomes the style's tag: {error}") from None
    artist = await _lock_artist(db, user)
    owned = await db.scalar(select(func.count()).select_from(Style).where(Style.artist_id == artist.id))
    if owned >= MAX_STYLES_PER_ARTIST:
        raise ApiError(errors.STYLE_LIMIT_REACHED, details={"max": MAX_STYLES_PER_ARTIST})

    prepared = []
    for index, upload in enumerate(images):
        try:
            prepared.append(await prepare_training_image(await upload.read(MAX_UPLOAD_BYTES + 1)))
        except ImageRejected as rejected:
            raise ApiError(errors.ALL_CODES[rejected.code],
                           details={"image": index, "filename": upload.filename, "reason": rejected.reason}) from None

    style = Style(artist_id=artist.id, title=form.title, description=form.description,
                  generation_cost_tokens=form.generation_cost_tokens, trigger_tag=trigger_tag)
    db.add(style)
    await db.flush()
    ids = await tag_ids(db, {trigger_tag, *(tag for row in image_tags for tag in row)})
    for position, (image, tags) in enumerate(zip(prepared, image_tags, strict=True)):
        stored = await store_prepared_image(store, style.id, image)
        artwork = Artwork(style_id=style.id, position=position, image_key=stored.keys.original,
                          thumbnail_key=stored.keys.thumbnail, width=stored.width, height=stored.height)
        db.add(artwork)
        await db.flush()
        await db.execute(artwork_tags.insert().values(
            [{"artwork_id": artwork.id, "tag_id": ids[tag]} for tag in dict.fromkeys([trigger_tag, *tags])]
        ))
        if position == 0:
            style.thumbnail_key = stored.keys.thumbnail
    await db.execute(style_tags.insert().values([{"style_id": style.id, "tag_id": tag_id} for tag_id in ids.values()]))
    await count_style_usage(db, ids.values())
    return style


def _style_rows() -> Select:
    """One row per style with everything its view shows: its columns, its artist and its visible tags."""
    tags = (
        select(Tag.name).join(style_tags, style_tags.c.tag_id == Tag.id)
        .where(style_tags.c.style_id == Style.id, Tag.is_active, ~Tag.is_flagged).order_by(Tag.name)
    )
    return (
        select(
            Style.id, Style.title, Style.description, Style.generation_cost_tokens, Style.training_status,
            Style.thumbnail_key, Style.generation_count, Style.created_at, Style.trained_at, Style.adapter_key,
            Artist.user_id.label("artist_user_id"), Artist.artist_name, User.username,
            func.array(tags.scalar_subquery()).label("tags"),
        )
        .join(Artist, Artist.id == Style.artist_id)
        .join(User, User.id == Artist.user_id)
    )


# Built once: building it costs more than PostgreSQL takes to run it.
_STYLE_ROWS = _style_rows()
# A style's page also needs what decides whether its viewer may see it.
_STYLE_ROWS_WITH_VISIBILITY = _STYLE_ROWS.add_columns(Style.is_active.label("style_active"),
                                                      User.is_active.label("artist_active"))
# What anyone may browse: trained, active styles of active artists.
_LISTED_STYLES = _STYLE_ROWS.where(Style.training_status == "completed", Style.is_active, User.is_active)


async def list_styles(db: AsyncSession, page: PageParams, *, sort: StyleSort, tag: str | None,
                      followed_by: int | None = None) -> Slice:
    """`followed_by`: only the styles of the artists this user follows."""
    statement = _LISTED_STYLES
    if followed_by is not None:
        followed = select(Follow.following_id).where(Follow.follower_id == followed_by)
        statement = statement.where(User.id.in_(followed))
    if tag:
        statement = statement.where(Style.id.in_(
            select(style_tags.c.style_id).join(Tag, Tag.id == style_tags.c.tag_id)
            .where(Tag.name == tag.strip().lower(), Tag.is_active, ~Tag.is_flagged)
        ))
    keys = [Style.created_at, Style.id] if sort == "recent" else [Style.generation_count, Style.created_at, Style.id]
    return await paginate_rows(db, statement, keys, page)


async def my_styles(db: AsyncSession, user: User) -> list[Style]:
    if user.artist is None:
        return []
    return list(await db.scalars(select(Style).where(Style.artist_id == user.artist.id).order_by(Style.id)))


async def view_for_viewer(db: AsyncSession, style_id: int, viewer: User | None, image_url: ImageUrl) -> StyleOut:
    """The style's view if the viewer may see it (anyone once trained; its artist always), read in one statement."""
    row = (await db.execute(_STYLE_ROWS_WITH_VISIBILITY.where(Style.id == style_id))).first()
    if row is None:
        raise ApiError(errors.NOT_FOUND)
    is_owner = viewer is not None and viewer.id == row.artist_user_id
    visible = row.training_status == "completed" and row.style_active and row.artist_active
    if not (is_owner or visible):
        raise ApiError(errors.NOT_FOUND)
    [view] = await row_views(db, [row], viewer, image_url)
    return view


async def owned_style(db: AsyncSession, style_id: int, user: User) -> Style:
    style = await db.scalar(select(Style).where(Style.id == style_id).with_for_update())
    if style is None:
        raise ApiError(errors.NOT_FOUND)
    if user.artist is None or style.artist_id != user.artist.id:
        raise ApiError(errors.FORBIDDEN)
    return style


async def update_style(db: AsyncSession, style: Style, changes: StyleUpdate) -> Style:
    """Title, description, price and the epoch new generations draw with; the training images and the trigger
    tag stay as trained."""
    if changes.epoch is not None:
        latest_run = await db.scalar(select(TrainingRun).where(TrainingRun.style_id == style.id)
                                     .order_by(TrainingRun.id.desc()).limit(1))
        epochs.choose(style, latest_run, changes.epoch)
    for field, value in changes.model_dump(exclude_unset=True, exclude={"epoch"}).items():
        if value is not None:
            setattr(style, field, value)
    if changes.title:
        try:
            title_tag = normalize_tag(changes.title)
        except ValueError as error:
            raise _invalid(["body", "title"], f"the title becomes a tag of the style: {error}") from None
        ids = await tag_ids(db, [title_tag])
        linked = await db.scalar(select(func.count()).select_from(style_tags).where(
            style_tags.c.style_id == style.id, style_tags.c.tag_id == ids[title_tag]))
        if not linked:
            await db.execute(style_tags.insert().values(style_id=style.id, tag_id=ids[title_tag]))
            await count_style_usage(db, [ids[title_tag]])
    await db.flush()
    return style


@dataclass(frozen=True)
class _OwnerDetails:
    """What only a style's artist sees: the latest training run and how many images it trains on."""
    run: TrainingRun | None
    training_images: int


async def _owner_details(db: AsyncSession, style_ids: list[int]) -> dict[int, _OwnerDetails]:
    if not style_ids:
        return {}
    latest_runs = {run.style_id: run for run in await db.scalars(
        select(TrainingRun).where(TrainingRun.style_id.in_(style_ids)).ext(distinct_on(TrainingRun.style_id))
        .order_by(TrainingRun.style_id, TrainingRun.id.desc())
    )}
    counts = dict((await db.execute(
        select(Artwork.style_id, func.count()).where(Artwork.style_id.in_(style_ids)).group_by(Artwork.style_id)
    )).all())
    return {id_: _OwnerDetails(latest_runs.get(id_), counts.get(id_, 0)) for id_ in style_ids}


async def views(db: AsyncSession, styles: Sequence[Style], viewer: User | None, image_url: ImageUrl) -> list[StyleOut]:
    rows = {row.id: row for row in await db.execute(_STYLE_ROWS.where(Style.id.in_([s.id for s in styles])))}
    return await row_views(db, [rows[style.id] for style in styles], viewer, image_url)


async def row_views(db: AsyncSession, rows: Sequence[Row], viewer: User | None, image_url: ImageUrl
                    ) -> list[StyleOut]:
    """Views of rows of `_STYLE_ROWS`; the viewer's own styles with their training details."""
    owned = [row.id for row in rows if viewer is not None and row.artist_user_id == viewer.id]
    details = await _owner_details(db, owned)
    followed = None if viewer is None else set(await db.scalars(select(Follow.following_id).where(
        Follow.follower_id == viewer.id, Follow.following_id.in_({row.artist_user_id for row in rows}))))
    return [_view(row, details.get(row.id), image_url, followed) for row in rows]


def _view(row: Row, owner: _OwnerDetails | None, image_url: ImageUrl, followed: set[int] | None) -> StyleOut:
    view = StyleOut(
        id=row.id, title=row.title, description=row.description,
        generation_cost_tokens=row.generation_cost_tokens, training_status=row.training_status, progress=None,
        thumbnail_url=image_url(row.thumbnail_key),
        artist=StyleArtist(user_id=row.artist_user_id, artist_name=row.artist_name, username=row.username,
                           followed_by_me=None if followed is None else row.artist_user_id in followed),
        tags=row.tags, generation_count=row.generation_count, created_at=row.created_at, trained_at=row.trained_at,
    )
    if owner is not None:
        # Only the artist sees a style before it is trained, so progress and samples are theirs alone.
        run = owner.run
        if row.training_status == "training" and run is not None and run.progress:
            view.progress = TrainingProgress.model_validate(run.progress)
        samples = (run.manifest or {}).get("sample_keys") if run and run.manifest else None
        if samples is None and run is not None and run.progress:
            samples = run.progress.get("sample_keys")
        view.sample_image_urls = [image_url(key) for key in samples or []]
        view.training_image_count = owner.training_images
        view.training_error = run.error_message if run is not None and row.training_status == "failed" else None
        view.training_scores = epochs.scores(run, row.adapter_key, image_url) if run is not None else None
    return view
