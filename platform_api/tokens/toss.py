"""Toss Payments core API client (async httpx): confirm, look up, cancel.

Authorization is HTTP Basic with the secret key as user name and no password. Every state-changing call
carries an Idempotency-Key derived from our order, so a retry after a timeout can never charge twice.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx

TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class TossError(Exception):
    """Toss answered with an error (`code` is Toss's, e.g. REJECT_CARD_PAYMENT)."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class TossUnavailable(Exception):
    """No answer we can trust (timeout, network error, 5xx): the outcome is unknown until looked up."""


@dataclass(frozen=True)
class Payment:
    payment_key: str
    order_id: str
    status: str  # READY, IN_PROGRESS, WAITING_FOR_DEPOSIT, DONE, CANCELED, PARTIAL_CANCELED, ABORTED, EXPIRED
    total_amount: Decimal
    currency: str
    raw: dict[str, Any]

    @classmethod
    def of(cls, body: dict[str, Any]) -> Payment:
        return cls(
            payment_key=str(body["paymentKey"]),
            order_id=str(body["orderId"]),
            status=str(body["status"]),
            total_amount=Decimal(str(body["totalAmount"])),
            currency=str(body.get("currency", "KRW")),
            raw=body,
        )


class TossClient:
    def __init__(self, *, api_base: str, secret_key: str, transport: httpx.AsyncBaseTransport | None = None):
        credentials = base64.b64encode(f"{secret_key}:".encode()).decode()
        self._http = httpx.AsyncClient(
            base_url=api_base.rstrip("/"),
            headers={"Authorization": f"Basic {credentials}"},
            timeout=TIMEOUT,
            transport=transport,
        )

    async def close(self) -> None:
        await self._http.aclose()

    async def confirm(self, *, payment_key: str, order_id: str, amount: Decimal, idempotency_key: str) -> Payment:
        return await self._call(
            "POST",
            "/v1/payments/confirm",
            json={"paymentKey": payment_key, "orderId": order_id, "amount": _number(amount)},
            idempotency_key=idempotency_key,
        )

    async def payment(self, payment_key: str) -> Payment:
        return await self._call("GET", f"/v1/payments/{payment_key}")

    async def payment_for_order(self, order_id: str) -> Payment:
        return await self._call("GET", f"/v1/payments/orders/{order_id}")

    async def cancel(self, *, payment_key: str, reason: str, idempotency_key: str) -> Payment:
        return await self._call(
            "POST", f"/v1/payments/{payment_key}/cancel", json={"cancelReason": reason}, idempotency_key=idempotency_key
        )

    async def _call(self, method: str, path: str, *, json: dict | None = None, idempotency_key: str | None = None) -> Payment:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        try:
            response = await self._http.request(method, path, json=json, headers=headers)
        except httpx.HTTPError as exc:
            raise TossUnavailable(repr(exc)) from exc
        if response.status_code >= 500:
            raise TossUnavailable(f"{response.status_code} from Toss")
        try:
            body = response.json()
        except ValueError as exc:
            raise TossUnavailable("unreadable answer from Toss") from exc
        if response.status_code >= 400:
            raise TossError(response.status_code, str(body.get("code", "UNKNOWN")), str(body.get("message", "")))
        try:
            return Payment.of(body)
        except (KeyError, ArithmeticError) as exc:
            raise TossUnavailable("incomplete payment from Toss") from exc


def _number(amount: Decimal) -> int | float:
    return int(amount) if amount == amount.to_integral_value() else float(amount)
