"""A generation ends settled or refunded, never both.

Revision ID: 0002_generation_outcome
Revises: 0001_initial
Create Date: 2026-11-27 14:56:01.262641
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002_generation_outcome'
down_revision = '0001_initial'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('uq_transactions_generation_outcome', 'transactions', ['related_generation_id'], unique=True, schema='token', postgresql_where=sa.text("kind IN ('generation_settle', 'generation_refund')"))


def downgrade() -> None:
    op.drop_index('uq_transactions_generation_outcome', table_name='transactions', schema='token', postgresql_where=sa.text("kind IN ('generation_settle', 'generation_refund')"))
