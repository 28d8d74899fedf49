"""Schema `tagging`: English tags and their links to styles, training images and generations."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Column, ForeignKey, Integer, String, Table, text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, CreatedAtMixin, IdMixin, trigram_index


class Tag(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "tags"
    __table_args__ = (
        CheckConstraint("name = lower(name)", name="name_lowercase"),
        CheckConstraint("char_length(name) BETWEEN 1 AND 100", name="name_length"),
        CheckConstraint("usage_count >= 0", name="usage_count_not_negative"),
        trigram_index("ix_tags_name_trgm", "name"),
        {"schema": "tagging"},
    )

    name: Mapped[str] = mapped_column(String(100), unique=True)
    usage_count: Mapped[int] = mapped_column(Integer, server_default="0")
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    is_flagged: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))


def _link_table(name: str, owner_column: str, owner_table: str) -> Table:
    return Table(
        name,
        Base.metadata,
        Column(owner_column, BigInteger, ForeignKey(f"{owner_table}.id", ondelete="CASCADE"), primary_key=True),
        Column("tag_id", BigInteger, ForeignKey("tagging.tags.id", ondelete="CASCADE"), primary_key=True, index=True),
        schema="tagging",
    )


style_tags = _link_table("style_tags", "style_id", "style.styles")
artwork_tags = _link_table("artwork_tags", "artwork_id", "style.artworks")
generation_tags = _link_table("generation_tags", "generation_id", "generation.generations")
