"""A training run can be cancelled by its artist; a generation records the adapter (the style's chosen epoch)
that draws it.

Revision ID: 0004_training_cancel_and_epochs
Revises: 0003_community_search
Create Date: 2026-12-07 19:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004_training_cancel_and_epochs'
down_revision = '0003_community_search'
branch_labels = None
depends_on = None

_BEFORE = "status IN ('pending', 'submitted', 'running', 'succeeded', 'failed')"
_AFTER = "status IN ('pending', 'submitted', 'running', 'succeeded', 'failed', 'cancelled')"


def upgrade() -> None:
    op.drop_constraint(op.f('ck_training_runs_status'), 'training_runs', schema='style', type_='check')
    op.create_check_constraint(op.f('ck_training_runs_status'), 'training_runs', _AFTER, schema='style')
    op.add_column('generations', sa.Column('adapter_key', sa.String(length=512), nullable=True), schema='generation')
    op.execute("UPDATE generation.generations AS g SET adapter_key = s.adapter_key FROM style.styles AS s "
               "WHERE s.id = g.style_id")


def downgrade() -> None:
    op.drop_column('generations', 'adapter_key', schema='generation')
    op.execute("UPDATE style.training_runs SET status = 'failed' WHERE status = 'cancelled'")
    op.drop_constraint(op.f('ck_training_runs_status'), 'training_runs', schema='style', type_='check')
    op.create_check_constraint(op.f('ck_training_runs_status'), 'training_runs', _BEFORE, schema='style')
