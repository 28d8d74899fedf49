from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from db.models import Purchase
from platform_api.envelope import InputModel, WriteModel
from platform_api.tokens.packages import PACKAGES, to_major

PackageId = Literal[tuple(PACKAGES)]  # type: ignore[valid-type]

TransactionType = Literal["all", "purchase", "usage", "earnings"]


class Balance(BaseModel):
    token_balance: int
    earned_token_balance: int | None = Field(description="Artists only: tokens earned from their style.")


class PackageOut(BaseModel):
    id: str
    tokens: int
    price: Decimal = Field(description="In the currency's major unit (10000 KRW, 7.99 USD).")
    currency: str


class PurchaseStart(WriteModel):
    package_id: PackageId


class PurchaseOut(BaseModel):
    id: int
    package_id: str
    order_id: str
    tokens: int
    amount: Decimal
    currency: str
    status: str
    created_at: datetime
    paid_at: datetime | None

    @classmethod
    def of(cls, purchase: Purchase) -> PurchaseOut:
        return cls(
            id=purchase.id,
            package_id=purchase.package_id,
            order_id=purchase.order_id,
            tokens=purchase.amount_tokens,
            amount=to_major(purchase.amount, purchase.currency),
            currency=purchase.currency,
            status=purchase.status,
            created_at=purchase.created_at,
            paid_at=purchase.paid_at,
        )


class CheckoutOut(BaseModel):
    """Everything the Toss payment widget needs (camelCase as the widget names them)."""

    purchase: PurchaseOut
    clientKey: str
    customerKey: str
    orderId: str
    orderName: str
    amount: Decimal
    currency: str
    successUrl: str
    failUrl: str
    checkoutUrl: str | None = Field(description="Development only: a local checkout page instead of the widget.")


class PurchaseConfirm(WriteModel):
    paymentKey: str = Field(min_length=1, max_length=200)
    orderId: str = Field(min_length=6, max_length=64)
    amount: Decimal = Field(gt=0, max_digits=14, decimal_places=2)


class TossWebhookData(BaseModel):
    paymentKey: str = Field(min_length=1, max_length=200)


class TossWebhook(InputModel):
    """Toss's PAYMENT_STATUS_CHANGED body; only the paymentKey is used, the rest is fetched from Toss."""

    eventType: str
    data: TossWebhookData


class LedgerEntry(BaseModel):
    id: int
    kind: str
    amount: int = Field(description="Signed from the reader's side: + received, - spent.")
    balance: Literal["tokens", "earnings"]
    status: str
    memo: str | None
    related_generation_id: int | None
    related_purchase_id: int | None
    created_at: datetime
