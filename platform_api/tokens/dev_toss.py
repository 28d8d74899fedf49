"""A local Toss Payments server for development and tests (the `dev` payment provider; refused in production).

It speaks the endpoints the platform uses — confirm, look up by paymentKey or orderId, cancel — with Toss's
Basic authentication, Idempotency-Key semantics and error codes, and its checkout page stands in for the
payment widget: it creates the payment and redirects to successUrl (or failUrl) the way Toss does.
State lives in memory: a restart forgets payments, as a sandbox would.
"""

from __future__ import annotations

import base64
import html
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Form, Header, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

DECLINE_AT_CONFIRM = "decline"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=status)


def _number(amount: Decimal) -> int | float:
    return int(amount) if amount == amount.to_integral_value() else float(amount)


@dataclass
class DevTossServer:
    secret_key: str
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Knobs for failure tests: answer 503 to everything, or lose the answer to the next confirm after
    # approving it (a timeout seen by the caller).
    unavailable: bool = False
    drop_next_confirm_answer: bool = False
    _outcomes: dict[str, str] = field(default_factory=dict)
    _replies: dict[str, tuple[str, JSONResponse]] = field(default_factory=dict)

    def checkout(self, *, order_id: str, amount: Decimal, currency: str, order_name: str, card: str = "approve") -> str:
        """What the checkout page does when the buyer pays: a payment waiting for confirmation."""
        payment_key = f"dev_{secrets.token_urlsafe(18)}"
        self.payments[payment_key] = {
            "mId": "dev_style_license",
            "version": "2022-11-16",
            "paymentKey": payment_key,
            "orderId": order_id,
            "orderName": order_name,
            "status": "READY",
            "requestedAt": _now(),
            "approvedAt": None,
            "totalAmount": _number(amount),
            "balanceAmount": _number(amount),
            "currency": currency,
            "method": "카드",
            "type": "NORMAL",
            "cancels": None,
        }
        self._outcomes[payment_key] = card
        return payment_key

    def app(self) -> FastAPI:
        app = FastAPI(title="Local Toss Payments", docs_url=None, redoc_url=None, openapi_url=None)

        @app.middleware("http")
        async def outage(request: Request, call_next):
            if self.unavailable and request.url.path.startswith("/v1/"):
                return _error(503, "FAILED_INTERNAL_SYSTEM_PROCESSING", "Temporarily unavailable.")
            return await call_next(request)

        @app.get("/checkout", response_class=HTMLResponse)
        async def checkout_page(
            orderId: str, amount: str, currency: str, orderName: str, successUrl: str, failUrl: str
        ):
            fields = {"orderId": orderId, "amount": amount, "currency": currency, "orderName": orderName,
                      "successUrl": successUrl, "failUrl": failUrl}
            hidden = "".join(
                f'<input type="hidden" name="{name}" value="{html.escape(value)}">' for name, value in fields.items()
            )
            return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Test payment</title></head>
<body style="font-family:sans-serif;max-width:28rem;margin:4rem auto">
<h1>Test payment</h1><p>Development checkout: no money moves.</p>
<p><strong>{html.escape(orderName)}</strong><br>{html.escape(amount)} {html.escape(currency)}</p>
<form method="post" action="checkout/pay">{hidden}
<label><input type="radio" name="card" value="approve" checked> Card approved</label><br>
<label><input type="radio" name="card" value="{DECLINE_AT_CONFIRM}"> Card declined</label><br><br>
<button type="submit">Pay</button></form>
<form method="post" action="checkout/cancel">{hidden}<button type="submit">Cancel</button></form>
</body></html>"""

        @app.post("/checkout/pay")
        async def pay(
            orderId: str = Form(), amount: str = Form(), currency: str = Form(), orderName: str = Form(),
            successUrl: str = Form(), card: str = Form(default="approve"),
        ):
            try:
                value = Decimal(amount)
            except InvalidOperation:
                return _error(400, "INVALID_REQUEST", "Invalid amount.")
            payment_key = self.checkout(order_id=orderId, amount=value, currency=currency, order_name=orderName, card=card)
            query = urlencode({"paymentType": "NORMAL", "orderId": orderId, "paymentKey": payment_key, "amount": amount})
            return RedirectResponse(f"{successUrl}{'&' if '?' in successUrl else '?'}{query}", status_code=303)

        @app.post("/checkout/cancel")
        async def give_up(orderId: str = Form(), failUrl: str = Form()):
            query = urlencode({"code": "PAY_PROCESS_CANCELED", "message": "The buyer cancelled.", "orderId": orderId})
            return RedirectResponse(f"{failUrl}{'&' if '?' in failUrl else '?'}{query}", status_code=303)

        @app.post("/v1/payments/confirm")
        async def confirm(request: Request, authorization: str = Header(default=""),
                          idempotency_key: str | None = Header(default=None)):
            if not self._authorized(authorization):
                return _error(401, "UNAUTHORIZED_KEY", "Invalid secret key.")
            body = await request.json()
            replay = self._replay(idempotency_key, body)
            if replay is not None:
                return replay
            response = self._confirm(body)
            self._remember(idempotency_key, body, response)
            if self.drop_next_confirm_answer and response.status_code == 200:
                self.drop_next_confirm_answer = False
                return _error(504, "GATEWAY_TIMEOUT", "The answer was lost on the way.")
            return response

        @app.get("/v1/payments/orders/{order_id}")
        async def by_order(order_id: str, authorization: str = Header(default="")):
            if not self._authorized(authorization):
                return _error(401, "UNAUTHORIZED_KEY", "Invalid secret key.")
            found = [p for p in self.payments.values() if p["orderId"] == order_id and p["status"] != "READY"]
            if not found:
                return _error(404, "NOT_FOUND_PAYMENT", "No payment for this order.")
            return found[-1]

        @app.get("/v1/payments/{payment_key}")
        async def by_key(payment_key: str, authorization: str = Header(default="")):
            if not self._authorized(authorization):
                return _error(401, "UNAUTHORIZED_KEY", "Invalid secret key.")
            payment = self.payments.get(payment_key)
            if payment is None:
                return _error(404, "NOT_FOUND_PAYMENT", "No such payment.")
            return payment

        @app.post("/v1/payments/{payment_key}/cancel")
        async def cancel(payment_key: str, request: Request, authorization: str = Header(default=""),
                         idempotency_key: str | None = Header(default=None)):
            if not self._authorized(authorization):
                return _error(401, "UNAUTHORIZED_KEY", "Invalid secret key.")
            body = await request.json()
            replay = self._replay(idempotency_key, body)
            if replay is not None:
                return replay
            response = self._cancel(payment_key, body)
            self._remember(idempotency_key, body, response)
            return response

        return app

    def _authorized(self, header: str) -> bool:
        expected = "Basic " + base64.b64encode(f"{self.secret_key}:".encode()).decode()
        return secrets.compare_digest(header, expected)

    def _replay(self, key: str | None, body: dict) -> JSONResponse | None:
        if key is None or key not in self._replies:
            return None
        fingerprint, response = self._replies[key]
        if fingerprint != repr(sorted(body.items())):
            return _error(422, "IDEMPOTENT_REQUEST_PROCESSING", "This Idempotency-Key was used with another request.")
        return response

    def _remember(self, key: str | None, body: dict, response: JSONResponse) -> None:
        if key is not None:
            self._replies[key] = (repr(sorted(body.items())), response)

    def _confirm(self, body: dict) -> JSONResponse:
        payment = self.payments.get(str(body.get("paymentKey")))
        if payment is None or payment["orderId"] != body.get("orderId"):
            return _error(404, "NOT_FOUND_PAYMENT_SESSION", "The payment session does not exist or has expired.")
        if payment["status"] != "READY":
            return _error(400, "ALREADY_PROCESSED_PAYMENT", "This payment was already processed.")
        try:
            amount = Decimal(str(body.get("amount")))
        except InvalidOperation:
            return _error(400, "INVALID_REQUEST", "Invalid amount.")
        if amount != Decimal(str(payment["totalAmount"])):
            return _error(400, "INVALID_REQUEST", "The amount does not match the payment.")
        if self._outcomes.get(payment["paymentKey"]) == DECLINE_AT_CONFIRM:
            payment["status"] = "ABORTED"
            return _error(403, "REJECT_CARD_PAYMENT", "The card was declined.")
        payment |= {"status": "DONE", "approvedAt": _now()}
        return JSONResponse(dict(payment))

    def _cancel(self, payment_key: str, body: dict) -> JSONResponse:
        payment = self.payments.get(payment_key)
        if payment is None:
            return _error(404, "NOT_FOUND_PAYMENT", "No such payment.")
        if payment["status"] == "CANCELED":
            return _error(400, "ALREADY_CANCELED_PAYMENT", "This payment was already cancelled.")
        if payment["status"] != "DONE":
            return _error(403, "NOT_CANCELABLE_PAYMENT", "This payment cannot be cancelled.")
        payment |= {
            "status": "CANCELED",
            "balanceAmount": 0,
            "cancels": [{"cancelAmount": payment["totalAmount"], "cancelReason": str(body.get("cancelReason", "")),
                         "canceledAt": _now()}],
        }
        return JSONResponse(dict(payment))
