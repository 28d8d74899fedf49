"""Token balance, packages, purchases through Toss Payments and the ledger history (spec §6.4)."""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from sqlalchemy import or_, select

from db.models import Transaction, User
from platform_api import errors
from platform_api.auth.principal import CurrentUser
from platform_api.database import SessionDep
from platform_api import idempotency
from platform_api.envelope import Envelope, Page, ResourceId, error_responses, ok
from platform_api.idempotency import IdempotencyKeyHeader
from platform_api.pagination import PageParamsDep, paginate
from platform_api.tokens import payments
from platform_api.tokens.ledger import ARTIST_CREDITS, USER_CREDITS
from platform_api.tokens.packages import PACKAGES, to_major
from platform_api.tokens.schemas import (
    Balance,
    CheckoutOut,
    LedgerEntry,
    PackageOut,
    PurchaseConfirm,
    PurchaseOut,
    PurchaseStart,
    TossWebhook,
    TransactionType,
)
from platform_api.tokens.toss import TossClient

router = APIRouter(tags=["tokens"])

SIGNED_IN = (errors.UNAUTHORIZED, errors.CSRF_FAILED)
KINDS_BY_TYPE = {
    "purchase": ("welcome_bonus", "purchase", "purchase_refund"),
    "usage": ("generation_reserve", "generation_refund"),
    "earnings": ARTIST_CREDITS,
}


def _toss(request: Request) -> TossClient:
    return request.app.state.toss


@router.get("/tokens/balance", response_model=Envelope[Balance], responses=error_responses(errors.UNAUTHORIZED))
async def balance(user: CurrentUser):
    return ok(Balance(token_balance=user.token_balance,
                      earned_token_balance=user.artist.earned_token_balance if user.artist else None))


@router.get("/tokens/packages", response_model=Envelope[list[PackageOut]])
async def packages(request: Request):
    currency = request.app.state.settings.payments.currency
    return ok([PackageOut(id=p.id, tokens=p.tokens, price=to_major(p.price(currency), currency), currency=currency)
               for p in PACKAGES.values()])


@router.post(
    "/tokens/purchase",
    status_code=status.HTTP_201_CREATED,
    response_model=Envelope[CheckoutOut],
    responses=error_responses(*SIGNED_IN, errors.IDEMPOTENCY_KEY_REUSED),
)
async def start_purchase(
    body: PurchaseStart, request: Request, db: SessionDep, user: CurrentUser, key: IdempotencyKeyHeader = None
):
    """A pending order for a package; the browser then pays with the Toss widget (or the dev checkout)."""
    claim = await idempotency.claim(db, user_id=user.id, scope="tokens.purchase", key=key, request=body)
    if claim.replay:
        return claim.replay
    checkout = await payments.start_purchase(db, request.app.state.settings, user, body.package_id)
    purchase = checkout.purchase
    result = ok(CheckoutOut(
        purchase=PurchaseOut.of(purchase),
        clientKey=checkout.client_key,
        customerKey=checkout.customer_key,
        orderId=purchase.order_id,
        orderName=checkout.order_name,
        amount=to_major(purchase.amount, purchase.currency),
        currency=purchase.currency,
        successUrl=checkout.success_url,
        failUrl=checkout.fail_url,
        checkoutUrl=checkout.checkout_url,
    ))
    await claim.remember(db, status.HTTP_201_CREATED, result)
    return result


@router.post(
    "/tokens/purchase/confirm",
    response_model=Envelope[PurchaseOut],
    responses=error_responses(
        *SIGNED_IN, errors.NOT_FOUND, errors.CONFLICT, errors.PAYMENT_FAILED, errors.SERVICE_UNAVAILABLE,
        errors.IDEMPOTENCY_KEY_REUSED,
    ),
)
async def confirm_purchase(
    body: PurchaseConfirm, request: Request, db: SessionDep, user: CurrentUser, key: IdempotencyKeyHeader = None
):
    """Called by the success page with what Toss put in the redirect; credits the tokens exactly once."""
    claim = await idempotency.claim(db, user_id=user.id, scope="tokens.confirm", key=key, request=body)
    if claim.replay:
        return claim.replay
    purchase = await payments.confirm_purchase(
        db, _toss(request), user, payment_key=body.paymentKey, order_id=body.orderId, amount=body.amount
    )
    result = ok(PurchaseOut.of(purchase))
    await claim.remember(db, status.HTTP_200_OK, result)
    return result


@router.post(
    "/tokens/purchases/{purchase_id}/refund",
    response_model=Envelope[PurchaseOut],
    responses=error_responses(
        *SIGNED_IN, errors.NOT_FOUND, errors.CONFLICT, errors.INSUFFICIENT_TOKENS, errors.PAYMENT_FAILED,
        errors.SERVICE_UNAVAILABLE,
    ),
)
async def refund_purchase(purchase_id: ResourceId, request: Request, db: SessionDep, user: CurrentUser):
    """Refund a purchase whose tokens are all unspent; refused (402 INSUFFICIENT_TOKENS) once any are spent."""
    purchase = await payments.refund_purchase(db, _toss(request), user, purchase_id)
    return ok(PurchaseOut.of(purchase))


@router.get(
    "/tokens/transactions",
    response_model=Envelope[Page[LedgerEntry]],
    responses=error_responses(errors.UNAUTHORIZED, errors.INVALID_CURSOR),
)
async def transactions(db: SessionDep, user: CurrentUser, page: PageParamsDep, type: TransactionType = "all"):
    """My ledger, newest first: purchases and bonuses, generation charges and refunds, and for artists
    their earnings."""
    mine = or_(Transaction.receiver_id == user.id, Transaction.sender_id == user.id)
    statement = select(Transaction).where(mine)
    if type != "all":
        statement = statement.where(Transaction.kind.in_(KINDS_BY_TYPE[type]))
    if type == "all":
        # A settled generation shows on the buyer's side as its reserve; the settle row is the artist's.
        statement = statement.where((Transaction.kind != "generation_settle") | (Transaction.receiver_id == user.id))
    result = await paginate(db, statement, [Transaction.created_at, Transaction.id], page)
    return ok(Page(results=[_entry(row, user) for row in result.rows], next_cursor=result.next_cursor,
                   has_more=result.has_more))


def _entry(row: Transaction, user: User) -> LedgerEntry:
    earnings = row.kind in ARTIST_CREDITS
    received = row.receiver_id == user.id and (row.kind in USER_CREDITS or earnings)
    return LedgerEntry(
        id=row.id,
        kind=row.kind,
        amount=row.amount if received else -row.amount,
        balance="earnings" if earnings else "tokens",
        status=row.status,
        memo=row.memo,
        related_generation_id=row.related_generation_id,
        related_purchase_id=row.related_purchase_id,
        created_at=row.created_at,
    )


@router.post("/webhooks/toss/payment", response_model=Envelope[None], tags=["webhooks"])
async def toss_webhook(body: TossWebhook, request: Request, db: SessionDep):
    """Toss's payment status webhook. Unauthenticated by design: it is only a hint to re-fetch the payment."""
    if body.eventType == "PAYMENT_STATUS_CHANGED":
        await payments.handle_webhook(db, _toss(request), body.data.paymentKey)
    return ok(None)
