"""Prove the cached counts: every like_count, comment_count, follower_count and tag usage_count equals a
recount of its rows.

    python -m platform_api.community.audit      # DATABASE_URL from the environment; exits 1 on any difference
"""

from __future__ import annotations

import sys

from sqlalchemy import Connection, text

from core.settings import DatabaseSettings
from db.engine import create_sync_engine

CHECKS: dict[str, str] = {
    "like_count differs from the likes": """
        SELECT g.id, g.like_count AS cached, count(l.id) AS counted
        FROM generation.generations g LEFT JOIN community.likes l ON l.generation_id = g.id
        GROUP BY g.id HAVING g.like_count <> count(l.id)
    """,
    "comment_count differs from the comments not deleted": """
        SELECT g.id, g.comment_count AS cached, count(c.id) AS counted
        FROM generation.generations g LEFT JOIN community.comments c ON c.generation_id = g.id AND NOT c.is_deleted
        GROUP BY g.id HAVING g.comment_count <> count(c.id)
    """,
    "follower_count differs from the follows": """
        SELECT a.id, a.follower_count AS cached, count(f.id) AS counted
        FROM auth.artists a LEFT JOIN community.follows f ON f.following_id = a.user_id
        GROUP BY a.id HAVING a.follower_count <> count(f.id)
    """,
    "usage_count differs from the styles using the tag": """
        SELECT t.id, t.usage_count AS cached, count(st.style_id) AS counted
        FROM tagging.tags t LEFT JOIN tagging.style_tags st ON st.tag_id = t.id
        GROUP BY t.id HAVING t.usage_count <> count(st.style_id)
    """,
    "a deleted comment is kept with no replies": """
        SELECT c.id, 0 AS cached, 0 AS counted FROM community.comments c
        WHERE c.is_deleted AND NOT EXISTS (SELECT 1 FROM community.comments r WHERE r.parent_id = c.id)
    """,
}


def counter_drift(connection: Connection) -> list[str]:
    """One line per row whose cached count is off; empty when every count is right."""
    return [
        f"{problem}: id {row.id} cached {row.cached}, counted {row.counted}"
        for problem, sql in CHECKS.items()
        for row in connection.execute(text(sql))
    ]


def main() -> int:
    engine = create_sync_engine(DatabaseSettings().url)
    with engine.connect() as connection:
        problems = counter_drift(connection)
    engine.dispose()
    print("\n".join(problems) or "every count equals its rows")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
