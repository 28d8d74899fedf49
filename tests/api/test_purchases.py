"""Buying tokens through the local Toss Payments server: exactly-once credit, attacks, failures, refunds."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from core.settings import Settings
from db.models import Purchase, Transaction, User
from platform_api.app import RECONCILERS, create_app
from platform_api.background import run_once
from platform_api.tokens.audit import audit_database
from platform_api.tokens.dev_toss import DECLINE_AT_CONFIRM, DevTossServer
from platform_api.tokens.payments import DEV_SECRET_KEY
from tests.helpers import assert_error, csrf_headers, dev_login, spend_tokens
from tests.stubs.server import BackgroundServer


@pytest.fixture(scope="module")
def toss() -> Iterator[DevTossServer]:
    server = DevTossServer(secret_key=DEV_SECRET_KEY)
    with BackgroundServer(server.app()) as running:
        server.url = running.url
        yield server


@pytest.fixture(autouse=True)
def toss_is_up(toss: DevTossServer):
    toss.unavailable = toss.drop_next_confirm_answer = False


@pytest.fixture
def app(settings: Settings, toss: DevTossServer):
    settings.payments.toss_api_base = toss.url
    return create_app(settings)


@pytest.fixture
def outsider(settings: Settings, toss: DevTossServer, clean_database) -> Iterator[TestClient]:
    """Another caller with its own app instance (a TestClient's shutdown closes its app's clients)."""
    settings.payments.toss_api_base = toss.url
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def buyer(app, clean_database) -> Iterator[TestClient]:
    with TestClient(app) as client:
        dev_login(client, "buyer@example.com")
        yield client


@pytest.fixture
def audit(database_url):
    def check() -> None:
        assert asyncio.run(audit_database(database_url)) == []

    return check


def _start(client: TestClient, package_id: str = "basic_100", key: str | None = None) -> dict:
    headers = csrf_headers(client) | ({"Idempotency-Key": key} if key else {})
    response = client.post("/api/v1/tokens/purchase", json={"package_id": package_id}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["data"]


def _pay(toss: DevTossServer, checkout: dict, card: str = "approve") -> str:
    """The buyer pays on the checkout page; returns the paymentKey from the success redirect."""
    response = httpx.post(f"{toss.url}/checkout/pay", data={
        "orderId": checkout["orderId"], "amount": str(checkout["amount"]), "currency": checkout["currency"],
        "orderName": checkout["orderName"], "successUrl": checkout["successUrl"], "card": card,
    })
    assert response.status_code == 303
    query = httpx.URL(response.headers["location"]).params
    assert query["orderId"] == checkout["orderId"] and query["amount"] == str(checkout["amount"])
    return query["paymentKey"]


def _confirm(client: TestClient, checkout: dict, payment_key: str, amount=None, **headers):
    body = {"paymentKey": payment_key, "orderId": checkout["orderId"], "amount": str(amount or checkout["amount"])}
    return client.post("/api/v1/tokens/purchase/confirm", json=body, headers=csrf_headers(client) | headers)


def _balance(client: TestClient) -> int:
    return client.get("/api/v1/tokens/balance").json()["data"]["token_balance"]


def test_packages_are_priced_by_the_server(client):
    packages = client.get("/api/v1/tokens/packages").json()["data"]
    assert [(p["id"], p["tokens"], Decimal(str(p["price"])), p["currency"]) for p in packages] == [
        ("basic_100", 100, Decimal(10000), "KRW"),
        ("standard_500", 500, Decimal(45000), "KRW"),
        ("premium_1000", 1000, Decimal(80000), "KRW"),
    ]


def test_a_purchase_credits_its_tokens_once(buyer, toss, db, audit):
    checkout = _start(buyer, "standard_500")
    assert checkout["purchase"]["status"] == "pending" and Decimal(str(checkout["amount"])) == 45000
    assert checkout["clientKey"] and checkout["customerKey"].startswith("cus_")
    payment_key = _pay(toss, checkout)

    confirmed = _confirm(buyer, checkout, payment_key)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["data"]["status"] == "paid"
    assert _balance(buyer) == 600
    assert _confirm(buyer, checkout, payment_key).json()["data"]["status"] == "paid"  # refreshed success page
    assert _balance(buyer) == 600
    credit = db.scalars(select(Transaction).where(Transaction.kind == "purchase")).one()
    assert (credit.sender_id, credit.amount, credit.status) == (None, 500, "completed")
    assert toss.payments[payment_key]["status"] == "DONE"
    audit()


@contextmanager
def _live_buyer(app) -> Iterator[httpx.Client]:
    """The buyer's browser, signed in, on the API served on a loopback port: requests truly run at once."""
    with BackgroundServer(app, lifespan=True) as api, httpx.Client(base_url=api.url) as browser:
        browser.post("/api/v1/auth/dev-login", json={"email": "buyer@example.com"})
        browser.headers["X-CSRF-Token"] = browser.cookies["sl_csrf"]
        yield browser


def _at_once(times: int, request) -> list[httpx.Response]:
    with ThreadPoolExecutor(times) as pool:
        return list(pool.map(lambda _: request(), range(times)))


def test_concurrent_confirms_credit_once(app, toss, db, clean_database, audit):
    with _live_buyer(app) as browser:
        checkout = browser.post("/api/v1/tokens/purchase", json={"package_id": "basic_100"}).json()["data"]
        payment_key = _pay(toss, checkout)
        body = {"paymentKey": payment_key, "orderId": checkout["orderId"], "amount": str(checkout["amount"])}
        responses = _at_once(8, lambda: browser.post("/api/v1/tokens/purchase/confirm", json=body))
    assert [r.status_code for r in responses] == [200] * 8
    assert db.scalars(select(User.token_balance)).one() == 200
    audit()


def test_concurrent_refunds_return_the_money_once(app, toss, db, clean_database, audit):
    with _live_buyer(app) as browser:
        checkout = browser.post("/api/v1/tokens/purchase", json={"package_id": "basic_100"}).json()["data"]
        payment_key = _pay(toss, checkout)
        body = {"paymentKey": payment_key, "orderId": checkout["orderId"], "amount": str(checkout["amount"])}
        browser.post("/api/v1/tokens/purchase/confirm", json=body).raise_for_status()
        refund = f"/api/v1/tokens/purchases/{checkout['purchase']['id']}/refund"
        responses = _at_once(8, lambda: browser.post(refund))
    assert sorted(r.status_code for r in responses) == [200] + [409] * 7
    assert toss.payments[payment_key]["status"] == "CANCELED"
    assert db.scalars(select(User.token_balance)).one() == 100
    audit()


def test_the_same_idempotency_key_starts_one_order(app, db, clean_database):
    with _live_buyer(app) as browser:
        responses = _at_once(16, lambda: browser.post("/api/v1/tokens/purchase", json={"package_id": "basic_100"},
                                                      headers={"Idempotency-Key": "order-1"}))
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["data"]["orderId"] for r in responses}) == 1
    assert len(db.scalars(select(Purchase)).all()) == 1


def test_an_idempotency_key_replays_and_refuses_another_body(buyer):
    first = _start(buyer, key="k-1")
    again = buyer.post("/api/v1/tokens/purchase", json={"package_id": "basic_100"},
                       headers=csrf_headers(buyer) | {"Idempotency-Key": "k-1"})
    assert again.headers["idempotent-replayed"] == "true" and again.json()["data"] == first
    other = buyer.post("/api/v1/tokens/purchase", json={"package_id": "premium_1000"},
                       headers=csrf_headers(buyer) | {"Idempotency-Key": "k-1"})
    assert_error(other, 422, "IDEMPOTENCY_KEY_REUSED")


@pytest.mark.parametrize("body", [{"package_id": "mega_1000000"}, {"package_id": "basic_100", "amount": 1},
                                  {"package_id": "basic_100", "price": 0}, {}])
def test_the_client_cannot_choose_the_price(buyer, db, body):
    assert_error(buyer.post("/api/v1/tokens/purchase", json=body, headers=csrf_headers(buyer)), 422,
                 "VALIDATION_ERROR")
    assert db.scalars(select(Purchase)).all() == []


def test_a_tampered_amount_is_refused_before_asking_toss(buyer, toss, db, audit):
    checkout = _start(buyer)
    payment_key = _pay(toss, checkout)
    error = assert_error(_confirm(buyer, checkout, payment_key, amount="100"), 402, "PAYMENT_FAILED")
    assert error["details"]["reason"] == "amount_mismatch"
    assert toss.payments[payment_key]["status"] == "READY" and _balance(buyer) == 100
    assert _confirm(buyer, checkout, payment_key).status_code == 200  # the honest confirm still works
    assert _balance(buyer) == 200
    audit()


@pytest.mark.parametrize("amount", ["-10000", "0", "1e30", "10000.001", "abc"])
def test_nonsense_amounts_are_validation_errors(buyer, toss, amount):
    checkout = _start(buyer)
    assert_error(_confirm(buyer, checkout, _pay(toss, checkout), amount=amount), 422, "VALIDATION_ERROR")


def test_another_users_order_cannot_be_confirmed(buyer, outsider, toss):
    checkout = _start(buyer)
    payment_key = _pay(toss, checkout)
    dev_login(outsider, "thief@example.com")
    assert_error(_confirm(outsider, checkout, payment_key), 404, "NOT_FOUND")
    assert _balance(outsider) == 100
    assert _confirm(buyer, checkout, payment_key).status_code == 200


def test_a_payment_pays_for_its_own_order_only(buyer, toss, audit):
    cheap, dear = _start(buyer, "basic_100"), _start(buyer, "premium_1000")
    cheap_payment = _pay(toss, cheap)  # 10,000 KRW paid, then presented for the 80,000 KRW order
    assert_error(_confirm(buyer, dear, cheap_payment), 402, "PAYMENT_FAILED")
    assert _balance(buyer) == 100
    assert _confirm(buyer, cheap, cheap_payment).status_code == 200  # it still pays for its own order
    assert_error(_confirm(buyer, dear, cheap_payment), 409, "CONFLICT")  # and, used, for no other
    assert _balance(buyer) == 200
    audit()


def test_a_declined_card_fails_the_purchase(buyer, toss, db, audit):
    checkout = _start(buyer)
    payment_key = _pay(toss, checkout, card=DECLINE_AT_CONFIRM)
    error = assert_error(_confirm(buyer, checkout, payment_key), 402, "PAYMENT_FAILED")
    assert error["details"]["code"] == "REJECT_CARD_PAYMENT"
    purchase = db.scalars(select(Purchase)).one()
    assert (purchase.status, purchase.failure_code) == ("failed", "REJECT_CARD_PAYMENT")
    assert_error(_confirm(buyer, checkout, payment_key), 409, "CONFLICT")  # confirm after failure
    assert _balance(buyer) == 100
    audit()


def test_a_forged_payment_key_mints_nothing(buyer, toss, db, audit):
    checkout = _start(buyer)
    assert_error(_confirm(buyer, checkout, "forged-payment-key"), 402, "PAYMENT_FAILED")
    assert _balance(buyer) == 100
    audit()


def test_a_lost_confirm_answer_is_resolved_by_looking_the_order_up(buyer, toss, audit):
    checkout = _start(buyer)
    payment_key = _pay(toss, checkout)
    toss.drop_next_confirm_answer = True  # Toss approves, the answer times out on the way back
    response = _confirm(buyer, checkout, payment_key)
    assert response.status_code == 200 and response.json()["data"]["status"] == "paid"
    assert _balance(buyer) == 200
    audit()


def test_toss_down_leaves_the_purchase_pending_until_a_retry(buyer, toss, db, audit):
    checkout = _start(buyer)
    payment_key = _pay(toss, checkout)
    toss.unavailable = True
    error = assert_error(_confirm(buyer, checkout, payment_key), 503, "SERVICE_UNAVAILABLE")
    assert error["details"]["reason"] == "payment_pending"
    assert db.scalars(select(Purchase.status)).one() == "pending" and _balance(buyer) == 100
    toss.unavailable = False
    assert _confirm(buyer, checkout, payment_key).json()["data"]["status"] == "paid"
    assert _balance(buyer) == 200
    audit()


def _webhook(client: TestClient, payment_key: str, status: str = "DONE"):
    body = {"eventType": "PAYMENT_STATUS_CHANGED", "createdAt": "2026-11-27T00:00:00.000",
            "data": {"paymentKey": payment_key, "orderId": "whatever", "status": status}}
    response = client.post("/api/v1/webhooks/toss/payment", json=body)
    assert response.status_code == 200, response.text


def test_a_forged_webhook_changes_nothing(buyer, outsider, toss, db, audit):
    checkout = _start(buyer)
    payment_key = _pay(toss, checkout)  # paid at checkout, never confirmed: Toss says READY
    _webhook(outsider, payment_key, status="DONE")
    _webhook(outsider, "made-up-key", status="DONE")
    assert db.scalars(select(Purchase.status)).one() == "pending" and _balance(buyer) == 100
    audit()


def test_a_webhook_with_a_nul_in_its_payment_key_is_a_validation_error(outsider):
    body = {"eventType": "PAYMENT_STATUS_CHANGED", "data": {"paymentKey": "key\x00"}}
    assert_error(outsider.post("/api/v1/webhooks/toss/payment", json=body), 422, "VALIDATION_ERROR")  # was a 500


def test_a_webhook_completes_a_purchase_whose_confirm_never_arrived(buyer, outsider, toss, audit):
    checkout = _start(buyer)
    payment_key = _pay(toss, checkout)
    httpx.post(f"{toss.url}/v1/payments/confirm", auth=(DEV_SECRET_KEY, ""),
               json={"paymentKey": payment_key, "orderId": checkout["orderId"], "amount": checkout["amount"]})
    _webhook(outsider, payment_key)
    _webhook(outsider, payment_key)  # Toss retries webhooks
    assert _balance(buyer) == 200
    assert _confirm(buyer, checkout, payment_key).json()["data"]["status"] == "paid"
    assert _balance(buyer) == 200
    audit()


def _bought(buyer, toss) -> dict:
    checkout = _start(buyer)
    payment_key = _pay(toss, checkout)
    assert _confirm(buyer, checkout, payment_key).status_code == 200
    return checkout | {"paymentKey": payment_key}


def test_an_unspent_purchase_can_be_refunded(buyer, toss, db, audit):
    bought = _bought(buyer, toss)
    refund = buyer.post(f"/api/v1/tokens/purchases/{bought['purchase']['id']}/refund", headers=csrf_headers(buyer))
    assert refund.json()["data"]["status"] == "canceled"
    assert toss.payments[bought["paymentKey"]]["status"] == "CANCELED"
    assert _balance(buyer) == 100
    again = buyer.post(f"/api/v1/tokens/purchases/{bought['purchase']['id']}/refund", headers=csrf_headers(buyer))
    assert_error(again, 409, "CONFLICT")
    audit()


def test_spent_tokens_cannot_be_refunded(buyer, toss, db, database_url, audit):
    bought = _bought(buyer, toss)
    spend_tokens(db, database_url, db.scalars(select(User.id)).one(), 150)
    refund = buyer.post(f"/api/v1/tokens/purchases/{bought['purchase']['id']}/refund", headers=csrf_headers(buyer))
    error = assert_error(refund, 402, "INSUFFICIENT_TOKENS")
    assert error["details"] == {"required": 100, "available": 50}
    assert toss.payments[bought["paymentKey"]]["status"] == "DONE"  # Toss was never asked
    assert db.scalars(select(Purchase.status)).one() == "paid"
    audit()


def test_a_purchase_id_beyond_the_database_range_is_a_validation_error(buyer):
    response = buyer.post(f"/api/v1/tokens/purchases/{2**63}/refund", headers=csrf_headers(buyer))
    assert_error(response, 422, "VALIDATION_ERROR")  # was a 500: more than a BIGINT holds


def test_a_cancellation_at_toss_takes_the_tokens_back(buyer, outsider, toss, audit):
    bought = _bought(buyer, toss)
    httpx.post(f"{toss.url}/v1/payments/{bought['paymentKey']}/cancel", auth=(DEV_SECRET_KEY, ""),
               json={"cancelReason": "merchant console"})
    _webhook(outsider, bought["paymentKey"], status="CANCELED")
    assert _balance(buyer) == 100
    audit()


def test_the_history_shows_each_side_of_every_change(buyer, toss):
    _bought(buyer, toss)
    entries = buyer.get("/api/v1/tokens/transactions").json()["data"]["results"]
    assert [(e["kind"], e["amount"], e["balance"]) for e in entries] == [
        ("purchase", 100, "tokens"), ("welcome_bonus", 100, "tokens")]
    purchases = buyer.get("/api/v1/tokens/transactions", params={"type": "purchase"}).json()["data"]["results"]
    assert len(purchases) == 2
    assert buyer.get("/api/v1/tokens/transactions", params={"type": "usage"}).json()["data"]["results"] == []
    first = buyer.get("/api/v1/tokens/transactions", params={"limit": 1}).json()["data"]
    assert first["has_more"] and len(first["results"]) == 1
    assert_error(buyer.get("/api/v1/tokens/transactions", params={"type": "gifts"}), 422, "VALIDATION_ERROR")


def test_money_endpoints_need_a_signed_in_user(client):
    assert_error(client.get("/api/v1/tokens/balance"), 401, "UNAUTHORIZED")
    assert_error(client.post("/api/v1/tokens/purchase", json={"package_id": "basic_100"}), 401, "UNAUTHORIZED")
    assert_error(client.get("/api/v1/tokens/transactions"), 401, "UNAUTHORIZED")


def _age(db, hours: float) -> None:
    db.execute(Purchase.__table__.update().values(created_at=Purchase.created_at - timedelta(hours=hours)))
    db.commit()


def test_the_reconciler_finishes_a_purchase_the_buyer_paid_and_left(buyer, toss, db, audit):
    checkout = _start(buyer)
    payment_key = _pay(toss, checkout)
    httpx.post(f"{toss.url}/v1/payments/confirm", auth=(DEV_SECRET_KEY, ""),
               json={"paymentKey": payment_key, "orderId": checkout["orderId"], "amount": checkout["amount"]})
    assert _reconcile(buyer) == 0  # too fresh to look up
    _age(db, 1)
    assert _reconcile(buyer) == 1
    assert _balance(buyer) == 200
    assert _reconcile(buyer) == 0
    audit()


def test_the_reconciler_fails_an_abandoned_checkout(buyer, toss, db, audit):
    _start(buyer)
    _age(db, 1)
    _reconcile(buyer)
    assert db.scalars(select(Purchase.status)).one() == "pending"  # maybe still paying
    _age(db, 30)
    _reconcile(buyer)
    db.expire_all()
    assert db.scalars(select(Purchase.failure_code)).one() == "ABANDONED"
    audit()


def _reconcile(client: TestClient) -> int:
    """One pass of the pending-purchases reconciler, on the app's own event loop."""
    reconciler = next(r for r in RECONCILERS if r.name == "pending_purchases")
    return client.portal.call(run_once, client.app, reconciler)
