"""Search by trigram: pg_trgm indexes on tag names, style titles, artist names and usernames; follows by
follower and time.

Revision ID: 0003_community_search
Revises: 0002_generation_outcome
Create Date: 2026-11-27 15:18:50.107445
"""

from __future__ import annotations

from alembic import op

revision = '0003_community_search'
down_revision = '0002_generation_outcome'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # pg_trgm is a trusted extension (PostgreSQL 13+): a database owner may create it without superuser rights.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_index('ix_artists_artist_name_trgm', 'artists', ['artist_name'], unique=False, schema='auth', postgresql_using='gin', postgresql_ops={'artist_name': 'gin_trgm_ops'})
    op.create_index('ix_users_username_trgm', 'users', ['username'], unique=False, schema='auth', postgresql_using='gin', postgresql_ops={'username': 'gin_trgm_ops'})
    op.create_index('ix_follows_follower_id_created_at', 'follows', ['follower_id', 'created_at'], unique=False, schema='community')
    op.create_index('ix_styles_title_trgm', 'styles', ['title'], unique=False, schema='style', postgresql_using='gin', postgresql_ops={'title': 'gin_trgm_ops'})
    op.create_index('ix_tags_name_trgm', 'tags', ['name'], unique=False, schema='tagging', postgresql_using='gin', postgresql_ops={'name': 'gin_trgm_ops'})


def downgrade() -> None:
    op.drop_index('ix_tags_name_trgm', table_name='tags', schema='tagging', postgresql_using='gin', postgresql_ops={'name': 'gin_trgm_ops'})
    op.drop_index('ix_styles_title_trgm', table_name='styles', schema='style', postgresql_using='gin', postgresql_ops={'title': 'gin_trgm_ops'})
    op.drop_index('ix_follows_follower_id_created_at', table_name='follows', schema='community')
    op.drop_index('ix_users_username_trgm', table_name='users', schema='auth', postgresql_using='gin', postgresql_ops={'username': 'gin_trgm_ops'})
    op.drop_index('ix_artists_artist_name_trgm', table_name='artists', schema='auth', postgresql_using='gin', postgresql_ops={'artist_name': 'gin_trgm_ops'})
    op.execute("DROP EXTENSION IF EXISTS pg_trgm")
