"""The ledger: the only code that changes token balances.

Every change is an append-only row in token.transactions; the cached balances (users.token_balance,
artists.earned_token_balance) move in the same transaction and are never read-then-written: debits are
conditional UPDATEs that fail instead of going negative. Exactly-once comes from the database: each effect's
row is inserted with ON CONFLICT DO NOTHING against a unique index (one welcome bonus per user, one row of each
kind per generation or purchase, one outcome — settle or refund — per generation), and a balance moves only
when its row was inserted.

Effects on balances, by kind:
    welcome_bonus, purchase, generation_refund   receiver.token_balance        + amount
    generation_reserve, purchase_refund          sender.token_balance          - amount
    generation_settle                            receiver's earned_token_balance + amount
"""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from db.models import Artist, Purchase, Transaction, User
from platform_api import errors
from platform_api.errors import ApiError

WELCOME_BONUS_TOKENS = 100

USER_CREDITS = ("welcome_bonus", "purchase", "generation_refund")
USER_DEBITS = ("generation_reserve", "purchase_refund")
ARTIST_CREDITS = ("generation_settle",)


async def _record(db: AsyncSession, balance: InstrumentedAttribute, owner: InstrumentedAttribute, owner_id: int,
                  *, debit: bool, **row) -> bool:
    """Append a ledger row and move its balance in one statement; False when the row's effect had already
    happened (nothing moves). A debit that would go negative raises INSUFFICIENT_TOKENS (402), and the
    request's rollback takes the row back out."""
    entry = (
        insert(Transaction).values(status="completed", **row).on_conflict_do_nothing()
        .returning(Transaction.amount).cte("entry")
    )
    # A scalar subquery: no row in `entry` (a duplicate) makes the amount NULL and moves nothing.
    amount = select(entry.c.amount).scalar_subquery()
    move = update(balance.class_).where(owner == owner_id)
    if debit:
        move = move.where(balance >= amount).values({balance: balance - amount})
    else:
        move = move.where(amount.is_not(None)).values({balance: balance + amount})
    moved = move.returning(owner).cte("moved")
    appended, moved_count = (
        await db.execute(select(
            select(func.count()).select_from(entry).scalar_subquery(),
            select(func.count()).select_from(moved).scalar_subquery(),
        ))
    ).one()
    if appended and not moved_count and debit:
        available = await db.scalar(select(balance).where(owner == owner_id))
        raise ApiError(errors.INSUFFICIENT_TOKENS, details={"required": row["amount"], "available": available or 0})
    return bool(appended)


async def _user_tokens(db: AsyncSession, user_id: int, *, debit: bool, **row) -> bool:
    return await _record(db, User.token_balance, User.id, user_id, debit=debit, **row)


async def grant_welcome_bonus(db: AsyncSession, user_id: int) -> bool:
    """Credit the welcome bonus once per user; False when it was already granted."""
    return await _user_tokens(
        db, user_id, debit=False, kind="welcome_bonus", receiver_id=user_id, amount=WELCOME_BONUS_TOKENS,
        memo="Welcome Bonus",
    )


async def reserve_for_generation(db: AsyncSession, *, user_id: int, generation_id: int, amount: int) -> None:
    """Charge the style's price when a generation is requested (an artist using their own style pays too).

    Idempotent per generation; INSUFFICIENT_TOKENS rolls the whole request back.
    """
    await _user_tokens(
        db, user_id, debit=True, kind="generation_reserve", sender_id=user_id, amount=amount,
        related_generation_id=generation_id, memo="Generation",
    )


async def settle_generation(db: AsyncSession, *, generation_id: int, artist_user_id: int, share: float) -> bool:
    """Credit the artist their share of a successful generation's reserve; False when the generation already
    has an outcome (settled or refunded)."""
    reserve = await _reserve_of(db, generation_id)
    amount = int(reserve.amount * share)
    if amount <= 0:
        return False
    return await _record(
        db, Artist.earned_token_balance, Artist.user_id, artist_user_id, debit=False,
        kind="generation_settle", sender_id=reserve.sender_id, receiver_id=artist_user_id, amount=amount,
        related_generation_id=generation_id, memo="Generation settled",
    )


async def refund_generation(db: AsyncSession, *, generation_id: int) -> bool:
    """Give the whole reserve back after a final failure; False when the generation already has an outcome."""
    reserve = await _reserve_of(db, generation_id)
    if reserve.sender_id is None:  # the account was deleted meanwhile
        return False
    return await _user_tokens(
        db, reserve.sender_id, debit=False, kind="generation_refund", receiver_id=reserve.sender_id,
        amount=reserve.amount, related_generation_id=generation_id, memo="Generation refunded",
    )


async def _reserve_of(db: AsyncSession, generation_id: int) -> Transaction:
    reserve = await db.scalar(
        select(Transaction).where(
            Transaction.kind == "generation_reserve", Transaction.related_generation_id == generation_id
        )
    )
    if reserve is None:
        raise LookupError(f"generation {generation_id} has no reserve")
    return reserve


async def credit_purchase(db: AsyncSession, purchase: Purchase) -> bool:
    """Credit a paid purchase's tokens once; False when they were already credited."""
    if purchase.user_id is None:
        return False
    return await _user_tokens(
        db, purchase.user_id, debit=False, kind="purchase", receiver_id=purchase.user_id,
        amount=purchase.amount_tokens, related_purchase_id=purchase.id, memo=f"Purchase {purchase.package_id}",
    )


async def debit_purchase_refund(db: AsyncSession, purchase: Purchase) -> bool:
    """Take a refunded purchase's tokens back; INSUFFICIENT_TOKENS when some were already spent.
    False when they were already taken back."""
    if purchase.user_id is None:
        return False
    return await _user_tokens(
        db, purchase.user_id, debit=True, kind="purchase_refund", sender_id=purchase.user_id,
        amount=purchase.amount_tokens, related_purchase_id=purchase.id, memo=f"Refund {purchase.package_id}",
    )
