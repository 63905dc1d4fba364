"""Payments through Stripe, against a real fake Stripe server: PyPI's localstripe, one process
for this file, whose signed webhooks reach the Gatehouse under test. A card is saved as Stripe.js
saves it (a SetupIntent confirmed with the card's details at Stripe), then Stack's routes charge
it: a subscription and a one-time pack, invoices, receipts, a declined card's notice, renewals
from Stripe's events (each event once, signatures checked), refunds and cancellations sent to
Stripe, and a subscription Stripe ended."""

import hashlib
import hmac
import json
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

from conftest import start_gatehouse
from test_plain_http import headers, sign_up

VENV = Path(__file__).resolve().parents[1] / ".venv" / "bin"
SECRET_KEY, PUBLISHABLE_KEY, WEBHOOK_SECRET = "sk_test_gatehouse", "pk_test_gatehouse", "whsec_gatehouse"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def poll(what, check, seconds=20):
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def stripe_url():
    port = free_port()
    proc = subprocess.Popen([str(VENV / "localstripe"), "--port", str(port), "--from-scratch"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"

    def up():
        try:
            return requests.get(f"{url}/v1/balance", auth=(SECRET_KEY, ""), timeout=2).ok
        except requests.ConnectionError:
            return False
    poll("localstripe", up)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="module")
def gh(stripe_url):
    yield from start_gatehouse(GATEHOUSE_STRIPE_API_URL=stripe_url,
                               GATEHOUSE_STRIPE_JS_URL=f"{stripe_url}/js.stripe.com/v3/")


def api(gh, method, path, access="client", token=None, **kw):
    extra = {}
    if token:
        extra["x-stack-access-token"] = token
    if access == "admin":
        extra["x-stack-super-secret-admin-key"] = gh["super_secret_admin_key"]
    return requests.request(method, f"{gh['base_url']}/api/v1{path}", headers=headers(gh, access, **extra),
                            timeout=30, **kw)


def stripe(stripe_url, method, path, **kw):
    r = requests.request(method, f"{stripe_url}/v1/{path}", auth=(SECRET_KEY, ""), timeout=10, **kw)
    assert r.ok, r.text
    return r.json()


def save_card(gh, stripe_url, user, number):
    """What Stripe.js does with the card typed into its fields: the SetupIntent is confirmed at
    Stripe with the card's details; then the app makes the saved card the default."""
    r = api(gh, "POST", f"/payments/payment-method/user/{user['user_id']}/setup-intent",
            token=user["access_token"], json={})
    assert r.status_code == 200, r.text
    secret = r.json()["client_secret"]
    assert r.json()["stripe_account_id"] == ""
    seti = secret.split("_secret_")[0]
    confirmed = requests.post(f"{stripe_url}/v1/setup_intents/{seti}/confirm", timeout=10, json={
        "key": PUBLISHABLE_KEY, "use_stripe_sdk": True, "client_secret": secret,
        "payment_method_data": {"type": "card", "card": {
            "number": number, "exp_month": "12", "exp_year": "2030", "cvc": "123"}}})
    assert confirmed.ok and confirmed.json()["status"] == "succeeded", confirmed.text
    r = api(gh, "POST", f"/payments/payment-method/user/{user['user_id']}/set-default",
            token=user["access_token"], json={"setup_intent_id": seti})
    assert r.status_code == 200, r.text
    return r.json()


def purchase_code(gh, user, product_id):
    r = api(gh, "POST", "/payments/purchases/create-purchase-url", token=user["access_token"],
            json={"customer_type": "user", "customer_id": user["user_id"], "product_id": product_id})
    assert r.status_code == 200, r.text
    return r.json()["url"].rsplit("/", 1)[1]


def products(gh, user):
    r = api(gh, "GET", f"/payments/products/user/{user['user_id']}", token=user["access_token"])
    assert r.status_code == 200, r.text
    return {p["id"]: p for p in r.json()["items"]}


def outbox_subjects(gh, user):
    r = api(gh, "GET", "/emails/outbox", access="server")
    assert r.status_code == 200, r.text
    return [e.get("subject") for e in r.json()["items"] if user["user_id"] in json.dumps(e.get("to"))]


def signed(payload: bytes, secret=WEBHOOK_SECRET, at=None):
    at = int(time.time()) if at is None else at
    sig = hmac.new(secret.encode(), f"{at}.".encode() + payload, hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={at},v1={sig}", "Content-Type": "application/json"}


@pytest.fixture(scope="module")
def shop(gh, stripe_url):
    """The project sells for real: its Stripe keys saved, Stripe's webhooks pointed at it, and a
    catalogue with test mode off."""
    bad = api(gh, "PUT", "/internal/payments/stripe", access="admin",
              json={"secret_key": "pk_wrong", "publishable_key": PUBLISHABLE_KEY, "webhook_secret": WEBHOOK_SECRET})
    assert bad.status_code == 400 and "sk_" in bad.json()["error"], bad.text
    r = api(gh, "PUT", "/internal/payments/stripe", access="admin",
            json={"secret_key": SECRET_KEY, "publishable_key": PUBLISHABLE_KEY, "webhook_secret": WEBHOOK_SECRET})
    assert r.status_code == 200, r.text
    settings = api(gh, "GET", "/internal/payments/stripe", access="admin").json()
    assert settings["connected"] is True and settings["secret_key_last4"] == SECRET_KEY[-4:]
    assert "whsec" not in json.dumps(settings) and SECRET_KEY not in json.dumps(settings)
    check = api(gh, "POST", "/internal/payments/stripe/check", access="admin", json={})
    assert check.status_code == 200 and check.json()["message"].startswith("Connected"), check.text
    webhook = f"{gh['base_url']}/api/v1/integrations/stripe/webhooks?project_id={gh['project_id']}"
    assert settings["webhook_url"].endswith(f"/api/v1/integrations/stripe/webhooks?project_id={gh['project_id']}")
    requests.post(f"{stripe_url}/_config/webhooks/gatehouse", data={"url": webhook, "secret": WEBHOOK_SECRET},
                  timeout=10).raise_for_status()
    config = {
        "payments.testMode": False,
        "payments.items.credits": {"displayName": "Credits", "customerType": "user"},
        "payments.productLines.plans": {"displayName": "Plans", "customerType": "user"},
        "payments.products.business": {
            "displayName": "Business", "customerType": "user", "productLineId": "plans",
            "prices": {"monthly": {"USD": "19", "interval": [1, "month"]}},
        },
        "payments.products.pro": {
            "displayName": "Pro", "customerType": "user", "productLineId": "plans",
            "prices": {"monthly": {"USD": "9.99", "interval": [1, "month"]}},
            "includedItems": {"credits": {"quantity": 100, "expires": "when-purchase-expires"}},
        },
        "payments.products.pack": {
            "displayName": "Credit pack", "customerType": "user", "stackable": True,
            "prices": {"once": {"USD": "5"}},
            "includedItems": {"credits": {"quantity": 50, "expires": "never"}},
        },
    }
    r = api(gh, "PATCH", "/internal/config/override/environment", access="admin",
            json={"config_override_string": json.dumps(config)})
    assert r.status_code == 200, r.text
    return {"webhook": webhook}


def test_a_card_pays_for_a_plan_and_a_pack(gh, stripe_url, shop):
    ada = sign_up(gh, "ada-stripe@example.com")
    assert api(gh, "GET", f"/payments/billing/user/{ada['user_id']}", token=ada["access_token"]).json() == \
        {"has_customer": False, "default_payment_method": None}
    card = save_card(gh, stripe_url, ada, "4242424242424242")
    assert card["success"] is True
    assert card["default_payment_method"]["last4"] == "4242"
    billing = api(gh, "GET", f"/payments/billing/user/{ada['user_id']}", token=ada["access_token"]).json()
    assert billing["has_customer"] is True and billing["default_payment_method"]["last4"] == "4242"

    # The plan: a Subscription at Stripe, paid at once with the saved card.
    full = purchase_code(gh, ada, "pro")
    r = api(gh, "POST", "/payments/purchases/purchase-session", access="client",
            json={"full_code": full, "price_id": "monthly"})
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"client_secret"}
    owned = products(gh, ada)
    assert "pro" in owned and owned["pro"]["type"] == "subscription", owned
    credits = api(gh, "GET", f"/payments/items/user/{ada['user_id']}/credits", token=ada["access_token"]).json()
    assert credits["quantity"] == 100
    again = api(gh, "POST", "/payments/purchases/purchase-session", access="client",
                json={"full_code": full, "price_id": "monthly"})
    assert again.status_code == 409 or again.json().get("code") == "VERIFICATION_CODE_ALREADY_USED", again.text

    # Stripe's invoice arrives by webhook: listed for the customer, and no second grant.
    invoices = poll("the invoice", lambda: api(gh, "GET", f"/payments/invoices/user/{ada['user_id']}",
                                               token=ada["access_token"]).json()["items"])
    assert invoices[0]["status"] == "paid" and invoices[0]["amount_total"] == 999
    assert products(gh, ada)["pro"]["quantity"] == 1

    # A pack of two, a one-time payment (a PaymentIntent).
    r = api(gh, "POST", "/payments/purchases/purchase-session", access="client",
            json={"full_code": purchase_code(gh, ada, "pack"), "price_id": "once", "quantity": 2})
    assert r.status_code == 200, r.text
    assert products(gh, ada)["pack"]["quantity"] == 2
    credits = api(gh, "GET", f"/payments/items/user/{ada['user_id']}/credits", token=ada["access_token"]).json()
    assert credits["quantity"] == 200
    paid = stripe(stripe_url, "GET", "payment_intents", params={"limit": 100})["data"]
    assert any(pi["amount"] == 1000 and pi["status"] == "succeeded" for pi in paid), paid

    poll("two receipts", lambda: len([s for s in outbox_subjects(gh, ada)
                                      if s and s.startswith("Your receipt")]) == 2)

    # Transactions: both purchases, live (not test mode).
    listed = api(gh, "GET", "/internal/payments/transactions?type=purchase", access="admin").json()["transactions"]
    mine = [t for t in listed if t["customer_id"] == ada["user_id"]]
    assert len(mine) == 2 and all(t["test_mode"] is False for t in mine), mine


def test_stripe_events_are_checked_and_handled_once(gh, stripe_url, shop):
    grace = sign_up(gh, "grace-stripe@example.com")
    save_card(gh, stripe_url, grace, "4242424242424242")
    r = api(gh, "POST", "/payments/purchases/purchase-session", access="client",
            json={"full_code": purchase_code(gh, grace, "pro"), "price_id": "monthly"})
    assert r.status_code == 200, r.text
    customer = stripe(stripe_url, "GET", "customers", params={"email": "grace-stripe@example.com"})["data"][0]
    sub = stripe(stripe_url, "GET", "subscriptions", params={"customer": customer["id"]})["data"][0]
    period_end = sub["current_period_end"]

    # Next month's invoice, paid: as Stripe would send it, signed.
    event = {"id": "evt_renewal_grace", "type": "invoice.paid", "data": {"object": {
        "id": "in_renewal_grace", "object": "invoice", "subscription": sub["id"], "status": "paid",
        "total": 999, "created": period_end, "hosted_invoice_url": "https://invoice.stripe.test/grace",
        "lines": {"data": [{"period": {"start": period_end, "end": period_end + 30 * 86400}}]}}}}
    payload = json.dumps(event).encode()
    for _ in range(2):  # a replay changes nothing
        r = requests.post(shop["webhook"], data=payload, headers=signed(payload), timeout=10)
        assert r.status_code == 200, r.text
    renewals = api(gh, "GET", "/internal/payments/transactions?type=subscription-renewal", access="admin").json()
    assert len(renewals["transactions"]) == 1, renewals
    owned = products(gh, grace)["pro"]
    assert owned["subscription"]["current_period_end"].startswith(
        time.strftime("%Y-%m-%d", time.gmtime(period_end + 30 * 86400))), owned

    # Refused: a wrong secret, an altered body, an old signature, a project that is not there.
    for body, hdrs in [(payload, signed(payload, secret="whsec_other")),
                       (payload.replace(b"999", b"1"), signed(payload)),
                       (payload, signed(payload, at=int(time.time()) - 3600))]:
        r = requests.post(shop["webhook"], data=body, headers=hdrs, timeout=10)
        assert r.status_code == 400 and "Stripe-Signature" in r.text, r.text
    r = requests.post(shop["webhook"].replace(gh["project_id"], "nope"), data=payload, headers=signed(payload),
                      timeout=10)
    assert r.status_code == 400, r.text

    # Canceled in the app: Stripe is told to end it with the period.
    r = api(gh, "DELETE", f"/payments/products/user/{grace['user_id']}/pro", token=grace["access_token"])
    assert r.status_code == 200, r.text
    assert stripe(stripe_url, "GET", f"subscriptions/{sub['id']}")["cancel_at_period_end"] is True
    # Ended at Stripe: its webhook ends it here at once.
    stripe(stripe_url, "DELETE", f"subscriptions/{sub['id']}")
    poll("the subscription to end", lambda: "pro" not in products(gh, grace))
    credits = api(gh, "GET", f"/payments/items/user/{grace['user_id']}/credits", token=grace["access_token"]).json()
    assert credits["quantity"] == 0


def test_a_declined_card_and_a_refund(gh, stripe_url, shop):
    bob = sign_up(gh, "bob-stripe@example.com")
    save_card(gh, stripe_url, bob, "4000000000000341")  # saved fine, declined when charged
    full = purchase_code(gh, bob, "pack")
    r = api(gh, "POST", "/payments/purchases/purchase-session", access="client",
            json={"full_code": full, "price_id": "once"})
    assert r.status_code == 402 and "declined" in r.text, r.text
    assert "pack" not in products(gh, bob)
    poll("the payment-failed email", lambda: any(
        s and s.startswith("Payment failed") for s in outbox_subjects(gh, bob)))

    # Another card: the same link still works (nothing was bought).
    save_card(gh, stripe_url, bob, "4242424242424242")
    r = api(gh, "POST", "/payments/purchases/purchase-session", access="client",
            json={"full_code": full, "price_id": "once"})
    assert r.status_code == 200, r.text
    assert products(gh, bob)["pack"]["quantity"] == 1

    # The admin refunds it: Stripe returns the money, then it is recorded.
    listed = api(gh, "GET", "/internal/payments/transactions?type=purchase", access="admin").json()["transactions"]
    purchase = next(t for t in listed if t["customer_id"] == bob["user_id"])
    refunds_before = len(stripe(stripe_url, "GET", "refunds")["data"])
    r = api(gh, "POST", "/internal/payments/transactions/refund", access="admin", json={
        "type": "one-time-purchase", "id": purchase["id"],
        "refund_entries": [{"entry_index": 0, "quantity": 1, "amount_usd": "5"}]})
    assert r.status_code == 200, r.text
    refunds = stripe(stripe_url, "GET", "refunds")["data"]
    assert len(refunds) == refunds_before + 1 and refunds[0]["amount"] == 500, refunds
    assert "pack" not in products(gh, bob)
    again = api(gh, "POST", "/internal/payments/transactions/refund", access="admin", json={
        "type": "one-time-purchase", "id": purchase["id"],
        "refund_entries": [{"entry_index": 0, "quantity": 1, "amount_usd": "5"}]})
    assert again.json()["code"] == "ONE_TIME_PURCHASE_ALREADY_REFUNDED", again.text
    assert len(stripe(stripe_url, "GET", "refunds")["data"]) == refunds_before + 1


def test_setup_is_refused_where_stripe_is_not_connected(gh, stripe_url, shop):
    carol = sign_up(gh, "carol-stripe@example.com")
    other = sign_up(gh, "dave-stripe@example.com")
    r = api(gh, "POST", f"/payments/payment-method/user/{other['user_id']}/setup-intent",
            token=carol["access_token"], json={})
    assert r.status_code == 403 and "own payment method" in r.text, r.text
    r = api(gh, "POST", "/payments/payment-method/custom/c-1/setup-intent", access="server", json={})
    assert r.status_code == 400 and r.json()["code"] == "SCHEMA_ERROR", r.text
    r = api(gh, "POST", f"/payments/payment-method/user/{carol['user_id']}/set-default",
            token=carol["access_token"], json={"setup_intent_id": "seti_unknown"})
    assert r.status_code == 400, r.text


def test_a_plan_paid_through_stripe_replaced_by_another_ends_at_stripe(gh, stripe_url, shop):
    erin = sign_up(gh, "erin-stripe@example.com")
    save_card(gh, stripe_url, erin, "4242424242424242")
    r = api(gh, "POST", "/payments/purchases/purchase-session", access="client",
            json={"full_code": purchase_code(gh, erin, "pro"), "price_id": "monthly"})
    assert r.status_code == 200, r.text
    customer = stripe(stripe_url, "GET", "customers", params={"email": "erin-stripe@example.com"})["data"][0]
    sub = stripe(stripe_url, "GET", "subscriptions", params={"customer": customer["id"]})["data"][0]
    # Switching would change the plan here but not what Stripe bills: refused, with the way to do it.
    r = api(gh, "POST", f"/payments/products/user/{erin['user_id']}/switch", token=erin["access_token"],
            json={"from_product_id": "pro", "to_product_id": "business"})
    assert r.status_code == 400 and "checkout" in r.text, r.text
    # The app's server grants the other plan of the line: the Stripe subscription ends at Stripe too.
    r = api(gh, "POST", f"/payments/products/user/{erin['user_id']}", access="server", json={"product_id": "business"})
    assert r.status_code == 200, r.text
    assert set(products(gh, erin)) == {"business"}
    poll("Stripe to end the replaced plan",
         lambda: stripe(stripe_url, "GET", f"subscriptions/{sub['id']}")["status"] == "canceled")
