"""All tables, one module per PostgreSQL schema; importing this registers them on `Base.metadata`."""

from db.models.auth import ApiKey, Artist, Session, User
from db.models.community import Comment, Follow, Like
from db.models.generation import Generation
from db.models.style import Artwork, Style, TrainingRun
from db.models.system import IdempotencyKey, Notification
from db.models.tagging import Tag, artwork_tags, generation_tags, style_tags
from db.models.token import Purchase, Transaction

__all__ = [
    "ApiKey",
    "Artist",
    "Artwork",
    "Comment",
    "Follow",
    "Generation",
    "IdempotencyKey",
    "Like",
    "Notification",
    "Purchase",
    "Session",
    "Style",
    "Tag",
    "TrainingRun",
    "Transaction",
    "User",
    "artwork_tags",
    "generation_tags",
    "style_tags",
]
