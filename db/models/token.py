"""Schema `token`: the append-only ledger and payment orders.

Ledger and purchase rows outlive a deleted account (SET NULL): they are the accounting record.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Index, Integer, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, CreatedAtMixin, IdMixin, TimestampsMixin, enum_check

LEDGER_KINDS = (
    "welcome_bonus",
    "purchase",
    "generation_reserve",
    "generation_settle",
    "generation_refund",
    "purchase_refund",
)
LEDGER_STATUSES = ("pending", "completed", "failed")
PURCHASE_STATUSES = ("pending", "paid", "failed", "canceled")


class Transaction(IdMixin, CreatedAtMixin, Base):
    """One balance change. `sender_id` NULL means the platform (welcome bonus, purchases)."""

    __tablename__ = "transactions"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(enum_check("kind", LEDGER_KINDS), name="kind"),
        CheckConstraint(enum_check("status", LEDGER_STATUSES), name="status"),
        # Exactly-once effects, enforced by the database whatever the code path.
        Index(
            "uq_transactions_welcome_bonus_receiver",
            "receiver_id",
            unique=True,
            postgresql_where=text("kind = 'welcome_bonus'"),
        ),
        Index(
            "uq_transactions_kind_generation",
            "kind",
            "related_generation_id",
            unique=True,
            postgresql_where=text("related_generation_id IS NOT NULL"),
        ),
        # A generation ends settled or refunded, never both.
        Index(
            "uq_transactions_generation_outcome",
            "related_generation_id",
            unique=True,
            postgresql_where=text("kind IN ('generation_settle', 'generation_refund')"),
        ),
        Index(
            "uq_transactions_kind_purchase",
            "kind",
            "related_purchase_id",
            unique=True,
            postgresql_where=text("related_purchase_id IS NOT NULL"),
        ),
        Index("ix_transactions_sender_id_created_at", "sender_id", "created_at"),
        Index("ix_transactions_receiver_id_created_at", "receiver_id", "created_at"),
        {"schema": "token"},
    )

    kind: Mapped[str] = mapped_column(String(32))
    sender_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("auth.users.id", ondelete="SET NULL"))
    receiver_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("auth.users.id", ondelete="SET NULL"))
    amount: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), server_default="completed")
    memo: Mapped[str | None] = mapped_column(String(255))
    related_generation_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("generation.generations.id", ondelete="SET NULL"), index=True
    )
    related_purchase_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("token.purchases.id", ondelete="SET NULL"), index=True
    )


class Purchase(IdMixin, TimestampsMixin, Base):
    """A token package order paid through Toss Payments; prices come from the server's package list."""

    __tablename__ = "purchases"
    __table_args__ = (
        CheckConstraint("amount_tokens > 0", name="amount_tokens_positive"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(enum_check("status", PURCHASE_STATUSES), name="status"),
        Index("ix_purchases_user_id_created_at", "user_id", "created_at"),
        {"schema": "token"},
    )

    user_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("auth.users.id", ondelete="SET NULL"))
    package_id: Mapped[str] = mapped_column(String(32))
    order_id: Mapped[str] = mapped_column(String(64), unique=True)
    amount_tokens: Mapped[int] = mapped_column(Integer)
    # Price in the currency's minor units (KRW has none; USD cents).
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), server_default="pending")
    provider: Mapped[str] = mapped_column(String(16))
    provider_payment_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    provider_response: Mapped[dict | None] = mapped_column(JSONB)
    failure_code: Mapped[str | None] = mapped_column(String(64))
    failure_message: Mapped[str | None] = mapped_column(String(512))
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    canceled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
