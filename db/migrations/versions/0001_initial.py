"""Initial schema: the whole data model in its seven PostgreSQL schemas.

Revision ID: 0001_initial
Revises: 
Create Date: 2026-11-27 14:36:36.148977
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

SCHEMAS = ("auth", "token", "style", "generation", "community", "tagging", "system")

revision = '0001_initial'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    for schema in SCHEMAS:
        op.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    op.create_table('users',
    sa.Column('google_sub', sa.String(length=255), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('username', sa.String(length=30), nullable=False),
    sa.Column('bio', sa.Text(), nullable=True),
    sa.Column('profile_image_key', sa.String(length=512), nullable=True),
    sa.Column('role', sa.String(length=16), server_default='user', nullable=False),
    sa.Column('token_balance', sa.Integer(), server_default='0', nullable=False),
    sa.Column('preferred_language', sa.String(length=2), server_default='en', nullable=False),
    sa.Column('is_active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('deactivated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("preferred_language IN ('en', 'ko')", name=op.f('ck_users_preferred_language')),
    sa.CheckConstraint("role IN ('user', 'artist', 'admin')", name=op.f('ck_users_role')),
    sa.CheckConstraint('char_length(username) BETWEEN 3 AND 30', name=op.f('ck_users_username_length')),
    sa.CheckConstraint('email = lower(email)', name=op.f('ck_users_email_lowercase')),
    sa.CheckConstraint('token_balance >= 0', name=op.f('ck_users_token_balance_not_negative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email')),
    sa.UniqueConstraint('google_sub', name=op.f('uq_users_google_sub')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username')),
    schema='auth'
    )
    op.create_table('tags',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('usage_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('is_active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('is_flagged', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('char_length(name) BETWEEN 1 AND 100', name=op.f('ck_tags_name_length')),
    sa.CheckConstraint('name = lower(name)', name=op.f('ck_tags_name_lowercase')),
    sa.CheckConstraint('usage_count >= 0', name=op.f('ck_tags_usage_count_not_negative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tags')),
    sa.UniqueConstraint('name', name=op.f('uq_tags_name')),
    schema='tagging'
    )
    op.create_table('api_keys',
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['auth.users.id'], name=op.f('fk_api_keys_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_api_keys_key_hash')),
    schema='auth'
    )
    op.create_index(op.f('ix_auth_api_keys_user_id'), 'api_keys', ['user_id'], unique=False, schema='auth')
    op.create_table('artists',
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('artist_name', sa.String(length=50), nullable=False),
    sa.Column('verified_email', sa.String(length=320), nullable=False),
    sa.Column('signature_image_key', sa.String(length=512), nullable=True),
    sa.Column('earned_token_balance', sa.Integer(), server_default='0', nullable=False),
    sa.Column('follower_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('char_length(artist_name) BETWEEN 1 AND 50', name=op.f('ck_artists_artist_name_length')),
    sa.CheckConstraint('earned_token_balance >= 0', name=op.f('ck_artists_earned_token_balance_not_negative')),
    sa.CheckConstraint('follower_count >= 0', name=op.f('ck_artists_follower_count_not_negative')),
    sa.ForeignKeyConstraint(['user_id'], ['auth.users.id'], name=op.f('fk_artists_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_artists')),
    sa.UniqueConstraint('user_id', name=op.f('uq_artists_user_id')),
    schema='auth'
    )
    op.create_table('sessions',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ip_address', sa.String(length=64), nullable=True),
    sa.Column('user_agent', sa.String(length=512), nullable=True),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['auth.users.id'], name=op.f('fk_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_sessions_token_hash')),
    schema='auth'
    )
    op.create_index(op.f('ix_auth_sessions_expires_at'), 'sessions', ['expires_at'], unique=False, schema='auth')
    op.create_index(op.f('ix_auth_sessions_user_id'), 'sessions', ['user_id'], unique=False, schema='auth')
    op.create_table('follows',
    sa.Column('follower_id', sa.BigInteger(), nullable=False),
    sa.Column('following_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('follower_id <> following_id', name=op.f('ck_follows_no_self_follow')),
    sa.ForeignKeyConstraint(['follower_id'], ['auth.users.id'], name=op.f('fk_follows_follower_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['following_id'], ['auth.users.id'], name=op.f('fk_follows_following_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_follows')),
    sa.UniqueConstraint('follower_id', 'following_id', name=op.f('uq_follows_follower_id_following_id')),
    schema='community'
    )
    op.create_index(op.f('ix_community_follows_following_id'), 'follows', ['following_id'], unique=False, schema='community')
    op.create_table('idempotency_keys',
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('scope', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('response_status', sa.Integer(), nullable=True),
    sa.Column('response_body', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('char_length(key) BETWEEN 1 AND 255', name=op.f('ck_idempotency_keys_key_length')),
    sa.ForeignKeyConstraint(['user_id'], ['auth.users.id'], name=op.f('fk_idempotency_keys_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_keys')),
    schema='system'
    )
    op.create_index(op.f('ix_system_idempotency_keys_expires_at'), 'idempotency_keys', ['expires_at'], unique=False, schema='system')
    op.create_index('uq_idempotency_keys_user_scope_key', 'idempotency_keys', ['user_id', 'scope', 'key'], unique=True, schema='system')
    op.create_table('notifications',
    sa.Column('recipient_id', sa.BigInteger(), nullable=False),
    sa.Column('actor_id', sa.BigInteger(), nullable=True),
    sa.Column('type', sa.String(length=32), nullable=False),
    sa.Column('data', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('is_read', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("type IN ('follow', 'like', 'comment', 'generation_complete', 'generation_failed', 'style_training_complete', 'style_training_failed')", name=op.f('ck_notifications_type')),
    sa.ForeignKeyConstraint(['actor_id'], ['auth.users.id'], name=op.f('fk_notifications_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['recipient_id'], ['auth.users.id'], name=op.f('fk_notifications_recipient_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')),
    schema='system'
    )
    op.create_index('ix_notifications_recipient_id_created_at', 'notifications', ['recipient_id', 'created_at'], unique=False, schema='system')
    op.create_index('ix_notifications_unread', 'notifications', ['recipient_id'], unique=False, schema='system', postgresql_where=sa.text('NOT is_read'))
    op.create_index(op.f('ix_system_notifications_actor_id'), 'notifications', ['actor_id'], unique=False, schema='system')
    op.create_table('purchases',
    sa.Column('user_id', sa.BigInteger(), nullable=True),
    sa.Column('package_id', sa.String(length=32), nullable=False),
    sa.Column('order_id', sa.String(length=64), nullable=False),
    sa.Column('amount_tokens', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='pending', nullable=False),
    sa.Column('provider', sa.String(length=16), nullable=False),
    sa.Column('provider_payment_key', sa.String(length=200), nullable=True),
    sa.Column('provider_response', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('failure_code', sa.String(length=64), nullable=True),
    sa.Column('failure_message', sa.String(length=512), nullable=True),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('canceled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status IN ('pending', 'paid', 'failed', 'canceled')", name=op.f('ck_purchases_status')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_purchases_amount_positive')),
    sa.CheckConstraint('amount_tokens > 0', name=op.f('ck_purchases_amount_tokens_positive')),
    sa.ForeignKeyConstraint(['user_id'], ['auth.users.id'], name=op.f('fk_purchases_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_purchases')),
    sa.UniqueConstraint('order_id', name=op.f('uq_purchases_order_id')),
    sa.UniqueConstraint('provider_payment_key', name=op.f('uq_purchases_provider_payment_key')),
    schema='token'
    )
    op.create_index('ix_purchases_user_id_created_at', 'purchases', ['user_id', 'created_at'], unique=False, schema='token')
    op.create_table('styles',
    sa.Column('artist_id', sa.BigInteger(), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('description', sa.Text(), server_default='', nullable=False),
    sa.Column('generation_cost_tokens', sa.Integer(), nullable=False),
    sa.Column('training_status', sa.String(length=16), server_default='pending', nullable=False),
    sa.Column('trigger_tag', sa.String(length=100), nullable=False),
    sa.Column('thumbnail_key', sa.String(length=512), nullable=True),
    sa.Column('adapter_key', sa.String(length=512), nullable=True),
    sa.Column('generation_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('is_active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('trained_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("training_status IN ('pending', 'training', 'completed', 'failed')", name=op.f('ck_styles_training_status')),
    sa.CheckConstraint('char_length(title) BETWEEN 1 AND 100', name=op.f('ck_styles_title_length')),
    sa.CheckConstraint('generation_cost_tokens BETWEEN 1 AND 10000', name=op.f('ck_styles_generation_cost_tokens_range')),
    sa.CheckConstraint('generation_count >= 0', name=op.f('ck_styles_generation_count_not_negative')),
    sa.ForeignKeyConstraint(['artist_id'], ['auth.artists.id'], name=op.f('fk_styles_artist_id_artists'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_styles')),
    schema='style'
    )
    op.create_index(op.f('ix_style_styles_artist_id'), 'styles', ['artist_id'], unique=False, schema='style')
    op.create_index(op.f('ix_style_styles_training_status'), 'styles', ['training_status'], unique=False, schema='style')
    op.create_index('ix_styles_created_at', 'styles', ['created_at'], unique=False, schema='style')
    op.create_index('ix_styles_generation_count_created_at', 'styles', ['generation_count', 'created_at'], unique=False, schema='style')
    op.create_table('generations',
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('style_id', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='queued', nullable=False),
    sa.Column('prompt_tags', postgresql.ARRAY(sa.String(length=100)), nullable=False),
    sa.Column('prompt', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('aspect_ratio', sa.String(length=8), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('seed', sa.BigInteger(), nullable=False),
    sa.Column('cost_tokens', sa.Integer(), nullable=False),
    sa.Column('is_public', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('result_key', sa.String(length=512), nullable=True),
    sa.Column('thumbnail_key', sa.String(length=512), nullable=True),
    sa.Column('progress', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error_code', sa.String(length=64), nullable=True),
    sa.Column('error_message', sa.Text(), nullable=True),
    sa.Column('like_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('comment_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("aspect_ratio IN ('1:1', '2:2', '1:2')", name=op.f('ck_generations_aspect_ratio')),
    sa.CheckConstraint("status IN ('queued', 'processing', 'retrying', 'completed', 'failed')", name=op.f('ck_generations_status')),
    sa.CheckConstraint('attempts >= 0', name=op.f('ck_generations_attempts_not_negative')),
    sa.CheckConstraint('comment_count >= 0', name=op.f('ck_generations_comment_count_not_negative')),
    sa.CheckConstraint('cost_tokens > 0', name=op.f('ck_generations_cost_tokens_positive')),
    sa.CheckConstraint('like_count >= 0', name=op.f('ck_generations_like_count_not_negative')),
    sa.ForeignKeyConstraint(['style_id'], ['style.styles.id'], name=op.f('fk_generations_style_id_styles'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['user_id'], ['auth.users.id'], name=op.f('fk_generations_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_generations')),
    schema='generation'
    )
    op.create_index(op.f('ix_generation_generations_style_id'), 'generations', ['style_id'], unique=False, schema='generation')
    op.create_index('ix_generations_public_feed', 'generations', ['created_at', 'id'], unique=False, schema='generation', postgresql_where=sa.text("is_public AND status = 'completed'"))
    op.create_index('ix_generations_unfinished', 'generations', ['next_attempt_at'], unique=False, schema='generation', postgresql_where=sa.text("status IN ('queued', 'processing', 'retrying')"))
    op.create_index('ix_generations_user_id_created_at', 'generations', ['user_id', 'created_at'], unique=False, schema='generation')
    op.create_table('artworks',
    sa.Column('style_id', sa.BigInteger(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('image_key', sa.String(length=512), nullable=False),
    sa.Column('thumbnail_key', sa.String(length=512), nullable=True),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('is_valid', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['style_id'], ['style.styles.id'], name=op.f('fk_artworks_style_id_styles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_artworks')),
    schema='style'
    )
    op.create_index(op.f('ix_style_artworks_style_id'), 'artworks', ['style_id'], unique=False, schema='style')
    op.create_table('training_runs',
    sa.Column('style_id', sa.BigInteger(), nullable=False),
    sa.Column('attempt', sa.Integer(), server_default='1', nullable=False),
    sa.Column('status', sa.String(length=16), server_default='pending', nullable=False),
    sa.Column('submission_id', sa.String(length=128), nullable=False),
    sa.Column('progress', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('manifest', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('error_message', sa.Text(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status IN ('pending', 'submitted', 'running', 'succeeded', 'failed')", name=op.f('ck_training_runs_status')),
    sa.ForeignKeyConstraint(['style_id'], ['style.styles.id'], name=op.f('fk_training_runs_style_id_styles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_runs')),
    sa.UniqueConstraint('submission_id', name=op.f('uq_training_runs_submission_id')),
    schema='style'
    )
    op.create_index(op.f('ix_style_training_runs_status'), 'training_runs', ['status'], unique=False, schema='style')
    op.create_index(op.f('ix_style_training_runs_style_id'), 'training_runs', ['style_id'], unique=False, schema='style')
    op.create_table('style_tags',
    sa.Column('style_id', sa.BigInteger(), nullable=False),
    sa.Column('tag_id', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['style_id'], ['style.styles.id'], name=op.f('fk_style_tags_style_id_styles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tag_id'], ['tagging.tags.id'], name=op.f('fk_style_tags_tag_id_tags'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('style_id', 'tag_id', name=op.f('pk_style_tags')),
    schema='tagging'
    )
    op.create_index(op.f('ix_tagging_style_tags_tag_id'), 'style_tags', ['tag_id'], unique=False, schema='tagging')
    op.create_table('comments',
    sa.Column('generation_id', sa.BigInteger(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('parent_id', sa.BigInteger(), nullable=True),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('is_deleted', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('char_length(content) BETWEEN 1 AND 1000', name=op.f('ck_comments_content_length')),
    sa.ForeignKeyConstraint(['generation_id'], ['generation.generations.id'], name=op.f('fk_comments_generation_id_generations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['parent_id'], ['community.comments.id'], name=op.f('fk_comments_parent_id_comments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['auth.users.id'], name=op.f('fk_comments_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_comments')),
    schema='community'
    )
    op.create_index('ix_comments_generation_id_created_at', 'comments', ['generation_id', 'created_at'], unique=False, schema='community')
    op.create_index(op.f('ix_community_comments_parent_id'), 'comments', ['parent_id'], unique=False, schema='community')
    op.create_index(op.f('ix_community_comments_user_id'), 'comments', ['user_id'], unique=False, schema='community')
    op.create_table('likes',
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('generation_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['generation_id'], ['generation.generations.id'], name=op.f('fk_likes_generation_id_generations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['auth.users.id'], name=op.f('fk_likes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_likes')),
    sa.UniqueConstraint('user_id', 'generation_id', name=op.f('uq_likes_user_id_generation_id')),
    schema='community'
    )
    op.create_index(op.f('ix_community_likes_generation_id'), 'likes', ['generation_id'], unique=False, schema='community')
    op.create_table('artwork_tags',
    sa.Column('artwork_id', sa.BigInteger(), nullable=False),
    sa.Column('tag_id', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['artwork_id'], ['style.artworks.id'], name=op.f('fk_artwork_tags_artwork_id_artworks'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tag_id'], ['tagging.tags.id'], name=op.f('fk_artwork_tags_tag_id_tags'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('artwork_id', 'tag_id', name=op.f('pk_artwork_tags')),
    schema='tagging'
    )
    op.create_index(op.f('ix_tagging_artwork_tags_tag_id'), 'artwork_tags', ['tag_id'], unique=False, schema='tagging')
    op.create_table('generation_tags',
    sa.Column('generation_id', sa.BigInteger(), nullable=False),
    sa.Column('tag_id', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['generation_id'], ['generation.generations.id'], name=op.f('fk_generation_tags_generation_id_generations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tag_id'], ['tagging.tags.id'], name=op.f('fk_generation_tags_tag_id_tags'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('generation_id', 'tag_id', name=op.f('pk_generation_tags')),
    schema='tagging'
    )
    op.create_index(op.f('ix_tagging_generation_tags_tag_id'), 'generation_tags', ['tag_id'], unique=False, schema='tagging')
    op.create_table('transactions',
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('sender_id', sa.BigInteger(), nullable=True),
    sa.Column('receiver_id', sa.BigInteger(), nullable=True),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='completed', nullable=False),
    sa.Column('memo', sa.String(length=255), nullable=True),
    sa.Column('related_generation_id', sa.BigInteger(), nullable=True),
    sa.Column('related_purchase_id', sa.BigInteger(), nullable=True),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("kind IN ('welcome_bonus', 'purchase', 'generation_reserve', 'generation_settle', 'generation_refund', 'purchase_refund')", name=op.f('ck_transactions_kind')),
    sa.CheckConstraint("status IN ('pending', 'completed', 'failed')", name=op.f('ck_transactions_status')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_transactions_amount_positive')),
    sa.ForeignKeyConstraint(['receiver_id'], ['auth.users.id'], name=op.f('fk_transactions_receiver_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['related_generation_id'], ['generation.generations.id'], name=op.f('fk_transactions_related_generation_id_generations'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['related_purchase_id'], ['token.purchases.id'], name=op.f('fk_transactions_related_purchase_id_purchases'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['sender_id'], ['auth.users.id'], name=op.f('fk_transactions_sender_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transactions')),
    schema='token'
    )
    op.create_index(op.f('ix_token_transactions_related_generation_id'), 'transactions', ['related_generation_id'], unique=False, schema='token')
    op.create_index(op.f('ix_token_transactions_related_purchase_id'), 'transactions', ['related_purchase_id'], unique=False, schema='token')
    op.create_index('ix_transactions_receiver_id_created_at', 'transactions', ['receiver_id', 'created_at'], unique=False, schema='token')
    op.create_index('ix_transactions_sender_id_created_at', 'transactions', ['sender_id', 'created_at'], unique=False, schema='token')
    op.create_index('uq_transactions_kind_generation', 'transactions', ['kind', 'related_generation_id'], unique=True, schema='token', postgresql_where=sa.text('related_generation_id IS NOT NULL'))
    op.create_index('uq_transactions_kind_purchase', 'transactions', ['kind', 'related_purchase_id'], unique=True, schema='token', postgresql_where=sa.text('related_purchase_id IS NOT NULL'))
    op.create_index('uq_transactions_welcome_bonus_receiver', 'transactions', ['receiver_id'], unique=True, schema='token', postgresql_where=sa.text("kind = 'welcome_bonus'"))


def downgrade() -> None:
    op.drop_index('uq_transactions_welcome_bonus_receiver', table_name='transactions', schema='token', postgresql_where=sa.text("kind = 'welcome_bonus'"))
    op.drop_index('uq_transactions_kind_purchase', table_name='transactions', schema='token', postgresql_where=sa.text('related_purchase_id IS NOT NULL'))
    op.drop_index('uq_transactions_kind_generation', table_name='transactions', schema='token', postgresql_where=sa.text('related_generation_id IS NOT NULL'))
    op.drop_index('ix_transactions_sender_id_created_at', table_name='transactions', schema='token')
    op.drop_index('ix_transactions_receiver_id_created_at', table_name='transactions', schema='token')
    op.drop_index(op.f('ix_token_transactions_related_purchase_id'), table_name='transactions', schema='token')
    op.drop_index(op.f('ix_token_transactions_related_generation_id'), table_name='transactions', schema='token')
    op.drop_table('transactions', schema='token')
    op.drop_index(op.f('ix_tagging_generation_tags_tag_id'), table_name='generation_tags', schema='tagging')
    op.drop_table('generation_tags', schema='tagging')
    op.drop_index(op.f('ix_tagging_artwork_tags_tag_id'), table_name='artwork_tags', schema='tagging')
    op.drop_table('artwork_tags', schema='tagging')
    op.drop_index(op.f('ix_community_likes_generation_id'), table_name='likes', schema='community')
    op.drop_table('likes', schema='community')
    op.drop_index(op.f('ix_community_comments_user_id'), table_name='comments', schema='community')
    op.drop_index(op.f('ix_community_comments_parent_id'), table_name='comments', schema='community')
    op.drop_index('ix_comments_generation_id_created_at', table_name='comments', schema='community')
    op.drop_table('comments', schema='community')
    op.drop_index(op.f('ix_tagging_style_tags_tag_id'), table_name='style_tags', schema='tagging')
    op.drop_table('style_tags', schema='tagging')
    op.drop_index(op.f('ix_style_training_runs_style_id'), table_name='training_runs', schema='style')
    op.drop_index(op.f('ix_style_training_runs_status'), table_name='training_runs', schema='style')
    op.drop_table('training_runs', schema='style')
    op.drop_index(op.f('ix_style_artworks_style_id'), table_name='artworks', schema='style')
    op.drop_table('artworks', schema='style')
    op.drop_index('ix_generations_user_id_created_at', table_name='generations', schema='generation')
    op.drop_index('ix_generations_unfinished', table_name='generations', schema='generation', postgresql_where=sa.text("status IN ('queued', 'processing', 'retrying')"))
    op.drop_index('ix_generations_public_feed', table_name='generations', schema='generation', postgresql_where=sa.text("is_public AND status = 'completed'"))
    op.drop_index(op.f('ix_generation_generations_style_id'), table_name='generations', schema='generation')
    op.drop_table('generations', schema='generation')
    op.drop_index('ix_styles_generation_count_created_at', table_name='styles', schema='style')
    op.drop_index('ix_styles_created_at', table_name='styles', schema='style')
    op.drop_index(op.f('ix_style_styles_training_status'), table_name='styles', schema='style')
    op.drop_index(op.f('ix_style_styles_artist_id'), table_name='styles', schema='style')
    op.drop_table('styles', schema='style')
    op.drop_index('ix_purchases_user_id_created_at', table_name='purchases', schema='token')
    op.drop_table('purchases', schema='token')
    op.drop_index(op.f('ix_system_notifications_actor_id'), table_name='notifications', schema='system')
    op.drop_index('ix_notifications_unread', table_name='notifications', schema='system', postgresql_where=sa.text('NOT is_read'))
    op.drop_index('ix_notifications_recipient_id_created_at', table_name='notifications', schema='system')
    op.drop_table('notifications', schema='system')
    op.drop_index('uq_idempotency_keys_user_scope_key', table_name='idempotency_keys', schema='system')
    op.drop_index(op.f('ix_system_idempotency_keys_expires_at'), table_name='idempotency_keys', schema='system')
    op.drop_table('idempotency_keys', schema='system')
    op.drop_index(op.f('ix_community_follows_following_id'), table_name='follows', schema='community')
    op.drop_table('follows', schema='community')
    op.drop_index(op.f('ix_auth_sessions_user_id'), table_name='sessions', schema='auth')
    op.drop_index(op.f('ix_auth_sessions_expires_at'), table_name='sessions', schema='auth')
    op.drop_table('sessions', schema='auth')
    op.drop_table('artists', schema='auth')
    op.drop_index(op.f('ix_auth_api_keys_user_id'), table_name='api_keys', schema='auth')
    op.drop_table('api_keys', schema='auth')
    op.drop_table('tags', schema='tagging')
    op.drop_table('users', schema='auth')
    for schema in reversed(SCHEMAS):
        op.execute(f'DROP SCHEMA IF EXISTS "{schema}"')
