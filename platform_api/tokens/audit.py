"""Prove the ledger: every cached balance equals the sum of its rows, every generation charge has exactly the
outcome its generation's status calls for, every paid purchase was credited once.

    python -m platform_api.tokens.audit      # DATABASE_URL from the environment; exits 1 on any difference
"""

from __future__ import annotations

import asyncio
import sys

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from core.settings import DatabaseSettings
from db.engine import create_api_engine, create_session_factory
from platform_api.tokens.ledger import ARTIST_CREDITS, USER_CREDITS, USER_DEBITS


def _kinds(kinds: tuple[str, ...]) -> str:
    return ", ".join(f"'{kind}'" for kind in kinds)


CHECKS: dict[str, str] = {
    "user balance differs from its ledger rows": f"""
        SELECT * FROM (
            SELECT u.id, u.token_balance AS cached, COALESCE(SUM(
                CASE WHEN t.receiver_id = u.id AND t.kind IN ({_kinds(USER_CREDITS)}) THEN t.amount
                     WHEN t.sender_id = u.id AND t.kind IN ({_kinds(USER_DEBITS)}) THEN -t.amount
                     ELSE 0 END), 0) AS ledger
            FROM auth.users u LEFT JOIN token.transactions t ON t.receiver_id = u.id OR t.sender_id = u.id
            GROUP BY u.id
        ) balances WHERE cached <> ledger
    """,
    "artist earnings differ from their ledger rows": f"""
        SELECT * FROM (
            SELECT a.id, a.earned_token_balance AS cached, COALESCE(SUM(t.amount), 0) AS ledger
            FROM auth.artists a
            LEFT JOIN token.transactions t ON t.receiver_id = a.user_id AND t.kind IN ({_kinds(ARTIST_CREDITS)})
            GROUP BY a.id
        ) earnings WHERE cached <> ledger
    """,
    "charge without an outcome for a finished generation": """
        SELECT r.id, r.related_generation_id, g.status
        FROM token.transactions r
        JOIN generation.generations g ON g.id = r.related_generation_id
        LEFT JOIN token.transactions o ON o.related_generation_id = r.related_generation_id
             AND o.kind IN ('generation_settle', 'generation_refund')
        WHERE r.kind = 'generation_reserve' AND o.id IS NULL
          AND g.status NOT IN ('queued', 'processing', 'retrying')
    """,
    "outcome that does not match its generation": """
        SELECT o.id, o.kind, g.status, o.amount, r.amount AS charged
        FROM token.transactions o
        JOIN generation.generations g ON g.id = o.related_generation_id
        LEFT JOIN token.transactions r ON r.related_generation_id = o.related_generation_id
             AND r.kind = 'generation_reserve'
        WHERE (o.kind = 'generation_settle' AND (g.status <> 'completed' OR r.id IS NULL OR o.amount > r.amount))
           OR (o.kind = 'generation_refund' AND (g.status <> 'failed' OR r.id IS NULL OR o.amount <> r.amount))
    """,
    "purchase credited or not against its status": """
        SELECT p.id, p.status, credit.id AS credit_id, refund.id AS refund_id
        FROM token.purchases p
        LEFT JOIN token.transactions credit ON credit.related_purchase_id = p.id AND credit.kind = 'purchase'
        LEFT JOIN token.transactions refund ON refund.related_purchase_id = p.id AND refund.kind = 'purchase_refund'
        WHERE p.user_id IS NOT NULL AND (
              (p.status = 'paid' AND (credit.id IS NULL OR refund.id IS NOT NULL))
           OR (p.status = 'canceled' AND credit.id IS NOT NULL AND refund.id IS NULL)
           OR (p.status IN ('pending', 'failed') AND credit.id IS NOT NULL)
           OR (credit.id IS NOT NULL AND credit.amount <> p.amount_tokens))
    """,
}


async def audit_ledger(db: AsyncSession) -> list[str]:
    """Every difference found, one line each; empty when the ledger is sound."""
    problems = []
    for name, query in CHECKS.items():
        for row in (await db.execute(text(query))).mappings():
            problems.append(f"{name}: {dict(row)}")
    return problems


async def audit_database(database_url: str) -> list[str]:
    engine = create_api_engine(DatabaseSettings(url=database_url, pool_size=1, max_overflow=0))
    try:
        async with create_session_factory(engine)() as db:
            return await audit_ledger(db)
    finally:
        await engine.dispose()


def main() -> int:
    url = DatabaseSettings().url
    if not url:
        print("set DATABASE_URL", file=sys.stderr)
        return 2
    problems = asyncio.run(audit_database(url))
    for problem in problems:
        print(problem)
    print("ledger sound" if not problems else f"{len(problems)} difference(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
