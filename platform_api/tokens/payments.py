"""Buying tokens through Toss Payments: orders, confirmation, webhooks and refunds (spec §6.4.3).

Tokens are credited only for a payment Toss itself reports as DONE for our order, amount and currency.
The purchase row is locked for the whole decision, and the ledger refuses a second credit per purchase,
so replays, concurrent confirms and webhooks can never mint tokens twice.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.settings import PaymentProvider, Settings
from db.models import Purchase, User
from platform_api import errors
from platform_api.errors import ApiError
from platform_api.tokens import ledger
from platform_api.tokens.packages import PACKAGES, to_major, to_minor
from platform_api.tokens.toss import Payment, TossClient, TossError, TossUnavailable

log = logging.getLogger(__name__)

TOSS_API = "https://api.tosspayments.com"
DEV_TOSS_PATH = "/_dev/toss"
DEV_CLIENT_KEY = "test_ck_dev_style_license"
DEV_SECRET_KEY = "test_sk_dev_style_license"


def toss_api_base(settings: Settings) -> str:
    if settings.payments.toss_api_base:
        return settings.payments.toss_api_base
    if settings.payments.provider is PaymentProvider.dev:
        return settings.app.public_url.rstrip("/") + DEV_TOSS_PATH
    return TOSS_API


def toss_secret_key(settings: Settings) -> str:
    return settings.payments.toss_secret_key or DEV_SECRET_KEY


def toss_client_key(settings: Settings) -> str:
    return settings.payments.toss_client_key or DEV_CLIENT_KEY


@dataclass(frozen=True)
class Checkout:
    """What the payment widget needs to take the payment for a pending purchase."""

    purchase: Purchase
    client_key: str
    customer_key: str
    order_name: str
    success_url: str
    fail_url: str
    checkout_url: str | None  # the development checkout page, standing in for the widget


def customer_key(settings: Settings, user_id: int) -> str:
    """A stable, opaque buyer id for Toss that reveals nothing about our user ids."""
    digest = hmac.new(settings.app.secret_key.encode(), f"customer:{user_id}".encode(), hashlib.sha256)
    return "cus_" + digest.hexdigest()[:40]


async def start_purchase(db: AsyncSession, settings: Settings, user: User, package_id: str) -> Checkout:
    package = PACKAGES[package_id]
    currency = settings.payments.currency
    purchase = Purchase(
        user_id=user.id,
        package_id=package.id,
        order_id=f"sl_{secrets.token_urlsafe(18)}",
        amount_tokens=package.tokens,
        amount=package.price(currency),
        currency=currency,
        provider=settings.payments.provider.value,
    )
    db.add(purchase)
    await db.flush()
    site = settings.app.public_url.rstrip("/")
    order_name = f"Style License {package.tokens} tokens"
    success_url, fail_url = f"{site}/payments/success", f"{site}/payments/fail"
    checkout_url = None
    if settings.payments.provider is PaymentProvider.dev:
        query = urlencode({
            "orderId": purchase.order_id, "amount": str(to_major(purchase.amount, currency)), "currency": currency,
            "orderName": order_name, "successUrl": success_url, "failUrl": fail_url,
        })
        checkout_url = f"{toss_api_base(settings)}/checkout?{query}"
    return Checkout(
        purchase=purchase,
        client_key=toss_client_key(settings),
        customer_key=customer_key(settings, user.id),
        order_name=order_name,
        success_url=success_url,
        fail_url=fail_url,
        checkout_url=checkout_url,
    )


async def _locked_purchase(db: AsyncSession, **where) -> Purchase | None:
    return await db.scalar(select(Purchase).filter_by(**where).with_for_update())


def _matches(purchase: Purchase, payment: Payment) -> bool:
    return (
        payment.order_id == purchase.order_id
        and payment.currency == purchase.currency
        and to_minor(payment.total_amount, purchase.currency) == purchase.amount
    )


async def _mark_paid(db: AsyncSession, purchase: Purchase, payment: Payment) -> None:
    purchase.status = "paid"
    purchase.provider_payment_key = payment.payment_key
    purchase.provider_response = payment.raw
    purchase.paid_at = datetime.now(UTC)
    await ledger.credit_purchase(db, purchase)


async def confirm_purchase(
    db: AsyncSession, toss: TossClient, user: User, *, payment_key: str, order_id: str, amount: Decimal
) -> Purchase:
    """Confirm the payment the buyer just made (the success redirect). Safe to repeat."""
    purchase = await _locked_purchase(db, order_id=order_id, user_id=user.id)
    if purchase is None:
        raise ApiError(errors.NOT_FOUND)
    if purchase.status == "paid" and purchase.provider_payment_key == payment_key:
        return purchase  # a refreshed success page
    if purchase.status != "pending":
        raise ApiError(errors.CONFLICT, details={"status": purchase.status})
    if to_minor(amount, purchase.currency) != purchase.amount:
        raise ApiError(errors.PAYMENT_FAILED, details={"reason": "amount_mismatch"})

    try:
        payment = await toss.confirm(
            payment_key=payment_key,
            order_id=order_id,
            amount=to_major(purchase.amount, purchase.currency),
            idempotency_key=f"confirm-{purchase.order_id}",
        )
    except TossUnavailable:
        # The outcome is unknown: the purchase stays pending and is settled by looking the order up
        # (a retry of this request, the webhook or the reconciler), never by a confirm with a new key.
        return await _resolve_by_lookup(db, toss, purchase)
    except TossError as error:
        if error.code == "ALREADY_PROCESSED_PAYMENT":
            return await _resolve_by_lookup(db, toss, purchase)
        purchase.status = "failed"
        purchase.failure_code, purchase.failure_message = error.code, error.message[:512]
        raise ApiError(
            errors.PAYMENT_FAILED, details={"code": error.code, "message": error.message}, keep_changes=True
        ) from None
    if payment.status != "DONE" or not _matches(purchase, payment):
        log.error("confirmed payment does not match its order", extra={"order_id": purchase.order_id})
        purchase.status = "failed"
        purchase.failure_code, purchase.provider_response = "PAYMENT_MISMATCH", payment.raw
        raise ApiError(errors.PAYMENT_FAILED, details={"reason": "payment_mismatch"}, keep_changes=True)
    await _mark_paid(db, purchase, payment)
    return purchase


async def _resolve_by_lookup(db: AsyncSession, toss: TossClient, purchase: Purchase) -> Purchase:
    try:
        payment = await toss.payment_for_order(purchase.order_id)
    except (TossUnavailable, TossError):
        raise ApiError(
            errors.SERVICE_UNAVAILABLE, details={"reason": "payment_pending", "order_id": purchase.order_id}
        ) from None
    await reconcile(db, purchase, payment)
    if purchase.status == "pending":
        raise ApiError(errors.SERVICE_UNAVAILABLE, details={"reason": "payment_pending", "order_id": purchase.order_id})
    if purchase.status != "paid":
        raise ApiError(errors.PAYMENT_FAILED, details={"status": purchase.status}, keep_changes=True)
    return purchase


async def reconcile(db: AsyncSession, purchase: Purchase, payment: Payment) -> None:
    """Bring a (locked) purchase in line with what Toss says about its payment. Idempotent."""
    if not _matches(purchase, payment):
        log.error("payment does not match its order", extra={"order_id": purchase.order_id})
        return
    if payment.status == "DONE" and purchase.status == "pending":
        await _mark_paid(db, purchase, payment)
    elif payment.status in ("ABORTED", "EXPIRED") and purchase.status == "pending":
        purchase.status = "failed"
        purchase.failure_code = payment.status
    elif payment.status == "CANCELED" and purchase.status == "paid":
        try:
            async with db.begin_nested():
                await ledger.debit_purchase_refund(db, purchase)
        except ApiError:
            # Cancelled at Toss (e.g. from the merchant console) after the tokens were spent.
            log.error("payment cancelled after its tokens were spent", extra={"order_id": purchase.order_id})
            return
        purchase.status, purchase.canceled_at = "canceled", datetime.now(UTC)


# A checkout left unpaid this long is abandoned (Toss's payment window is far shorter).
ABANDONED_AFTER = timedelta(hours=24)
# Give the success redirect time to confirm before looking the order up.
LOOKUP_AFTER = timedelta(minutes=5)


async def resolve_pending_purchases(db: AsyncSession, toss: TossClient, *, batch: int = 20) -> int:
    """Look up purchases still pending after a while (a confirm that timed out, a buyer who closed the tab
    after paying) and settle them with what Toss says; abandoned ones fail. Returns how many were looked at."""
    now = datetime.now(UTC)
    pending = list(await db.scalars(
        select(Purchase)
        .where(Purchase.status == "pending", Purchase.created_at < now - LOOKUP_AFTER)
        .order_by(Purchase.created_at)
        .limit(batch)
        .with_for_update(skip_locked=True)
    ))
    for purchase in pending:
        try:
            payment = await toss.payment_for_order(purchase.order_id)
        except TossUnavailable:
            break  # try again at the next pass
        except TossError:
            if purchase.created_at < now - ABANDONED_AFTER:
                purchase.status, purchase.failure_code = "failed", "ABANDONED"
            continue
        await reconcile(db, purchase, payment)
    return len(pending)


async def handle_webhook(db: AsyncSession, toss: TossClient, payment_key: str) -> None:
    """A webhook is only a hint that something changed: fetch the payment from Toss with our secret key and
    act on that, so a forged or replayed webhook changes nothing Toss does not confirm."""
    try:
        payment = await toss.payment(payment_key)
    except TossError:
        return  # not a payment Toss knows
    purchase = await _locked_purchase(db, order_id=payment.order_id)
    if purchase is not None:
        await reconcile(db, purchase, payment)


async def refund_purchase(db: AsyncSession, toss: TossClient, user: User, purchase_id: int) -> Purchase:
    """Cancel a paid purchase whose tokens are all still unspent, and take the tokens back."""
    purchase = await _locked_purchase(db, id=purchase_id, user_id=user.id)
    if purchase is None:
        raise ApiError(errors.NOT_FOUND)
    if purchase.status != "paid" or purchase.provider_payment_key is None:
        raise ApiError(errors.CONFLICT, details={"status": purchase.status})
    # Debit first: when the tokens were spent this refuses before Toss is asked to return any money.
    await ledger.debit_purchase_refund(db, purchase)
    try:
        payment = await toss.cancel(
            payment_key=purchase.provider_payment_key,
            reason="Refund of unused tokens",
            idempotency_key=f"cancel-{purchase.order_id}",
        )
    except TossUnavailable:
        raise ApiError(errors.SERVICE_UNAVAILABLE, details={"reason": "payment_provider_unavailable"}) from None
    except TossError as error:
        raise ApiError(errors.PAYMENT_FAILED, details={"code": error.code, "message": error.message}) from None
    purchase.status, purchase.canceled_at, purchase.provider_response = "canceled", datetime.now(UTC), payment.raw
    return purchase
