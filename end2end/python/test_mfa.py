"""TOTP multi-factor over plain HTTP, with codes from pyotp (as an authenticator app makes them):
enrolment with `PATCH /users/me {totp_secret_base64}`, the second factor asked on every sign-in
path that needs no browser (password, emailed code), wrong and reused codes refused, recovery
codes, and turning it off. The OAuth and passkey paths are in end2end/*.test.mjs."""

import base64
import os
import re
import time
import uuid

import jwt
import pyotp
import requests

from test_plain_http import PASSWORD, headers, sign_up


def api(gh, method, path, access="client", token=None, anonymous=False, **kw):
    extra = {"x-stack-access-token": token} if token else {}
    if anonymous:
        extra["x-stack-allow-anonymous-user"] = "true"
    if access == "admin":
        extra["x-stack-super-secret-admin-key"] = gh["super_secret_admin_key"]
    return requests.request(method, f"{gh['base_url']}/api/v1{path}", headers=headers(gh, access, **extra),
                            timeout=10, **kw)


def enrol(gh, email):
    """A user with TOTP on: their pyotp authenticator and their user id."""
    tokens = sign_up(gh, email)
    secret = os.urandom(20)
    r = api(gh, "PATCH", "/users/me", token=tokens["access_token"],
            json={"totp_secret_base64": base64.b64encode(secret).decode()})
    assert r.status_code == 200, r.text
    assert r.json()["requires_totp_mfa"] is True
    return pyotp.TOTP(base64.b32encode(secret).decode()), tokens


def mfa_required(r):
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "MULTI_FACTOR_AUTHENTICATION_REQUIRED", r.text
    assert r.json()["error"] == "Multi-factor authentication is required for this user."
    return r.json()["details"]["attempt_code"]


def password_sign_in(gh, email):
    return api(gh, "POST", "/auth/password/sign-in", json={"email": email, "password": PASSWORD})


def test_password_sign_in_asks_for_the_second_factor(gatehouse):
    email = f"mfa-{uuid.uuid4().hex[:8]}@example.com"
    totp, _ = enrol(gatehouse, email)
    attempt = mfa_required(password_sign_in(gatehouse, email))

    wrong = api(gatehouse, "POST", "/auth/mfa/sign-in", json={"type": "totp", "totp": "000000", "code": attempt})
    if totp.now() != "000000":
        assert wrong.json()["code"] == "INVALID_TOTP_CODE", wrong.text
        assert wrong.json()["error"] == "The TOTP code is invalid. Please try again."

    code = totp.now()
    ok = api(gatehouse, "POST", "/auth/mfa/sign-in", json={"type": "totp", "totp": code, "code": attempt})
    assert ok.status_code == 200, ok.text
    body = ok.json()
    assert set(body) == {"access_token", "refresh_token", "user_id", "is_new_user"}
    assert body["is_new_user"] is False
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["requires_totp_mfa"] is True

    # The attempt code is spent, and the same TOTP code never works twice (another attempt).
    again = api(gatehouse, "POST", "/auth/mfa/sign-in", json={"type": "totp", "totp": code, "code": attempt})
    assert again.json()["code"] == "VERIFICATION_CODE_ALREADY_USED", again.text
    attempt2 = mfa_required(password_sign_in(gatehouse, email))
    reused = api(gatehouse, "POST", "/auth/mfa/sign-in", json={"type": "totp", "totp": code, "code": attempt2})
    assert reused.json()["code"] == "INVALID_TOTP_CODE", reused.text
    # Access tokens refreshed from the finished sign-in carry the flag too.
    refreshed = requests.post(f"{gatehouse['base_url']}/api/v1/auth/sessions/current/refresh", timeout=10,
                              headers=headers(gatehouse, "client", **{"x-stack-refresh-token": body["refresh_token"]}))
    assert refreshed.status_code == 200, refreshed.text
    claims = jwt.decode(refreshed.json()["access_token"], options={"verify_signature": False})
    assert claims["requires_totp_mfa"] is True


def test_codes_one_step_old_are_accepted_two_are_not(gatehouse):
    email = f"drift-{uuid.uuid4().hex[:8]}@example.com"
    totp, _ = enrol(gatehouse, email)
    attempt = mfa_required(password_sign_in(gatehouse, email))
    too_old = totp.at(time.time() - 75)
    if too_old not in (totp.now(), totp.at(time.time() - 30), totp.at(time.time() + 30)):
        r = api(gatehouse, "POST", "/auth/mfa/sign-in", json={"type": "totp", "totp": too_old, "code": attempt})
        assert r.json()["code"] == "INVALID_TOTP_CODE", r.text
    previous = totp.at(time.time() - 30)
    r = api(gatehouse, "POST", "/auth/mfa/sign-in", json={"type": "totp", "totp": previous, "code": attempt})
    assert r.status_code == 200, r.text


def test_emailed_code_sign_in_asks_too(gatehouse):
    api(gatehouse, "PATCH", "/internal/config/override/environment", access="admin",
        json={"config_override_string": '{"auth.otp.allowSignIn": true}'}).raise_for_status()
    # Made by the server with a verified address and the second factor on (Stack's server create).
    email = f"otp-{uuid.uuid4().hex[:8]}@example.com"
    secret = os.urandom(20)
    made = api(gatehouse, "POST", "/users", access="server",
               json={"primary_email": email, "primary_email_verified": True, "primary_email_auth_enabled": True,
                     "totp_secret_base64": base64.b64encode(secret).decode()})
    assert made.status_code == 201 and made.json()["requires_totp_mfa"] is True, made.text
    totp = pyotp.TOTP(base64.b32encode(secret).decode())
    sent = api(gatehouse, "POST", "/auth/otp/send-sign-in-code",
               json={"email": email, "callback_url": f"{gatehouse['base_url']}/handler/{gatehouse['project_id']}/magic-link-callback"})
    assert sent.status_code == 200, sent.text
    otp = None
    deadline = time.monotonic() + 20
    while otp is None and time.monotonic() < deadline:
        outbox = api(gatehouse, "GET", "/emails/outbox", access="server").json()["items"]
        for mail in outbox:
            # The code ends the subject ("…: Your code is ABC123").
            found = re.search(r"code is ([A-Z0-9]{6})$", mail.get("subject") or "")
            if found and email in str(mail.get("to")):
                otp = found.group(1).lower()
        time.sleep(0.2)
    assert otp, "no sign-in code was mailed"
    attempt = mfa_required(api(gatehouse, "POST", "/auth/otp/sign-in", json={"code": otp + sent.json()["nonce"]}))
    ok = api(gatehouse, "POST", "/auth/mfa/sign-in", json={"type": "totp", "totp": totp.now(), "code": attempt})
    assert ok.status_code == 200, ok.text


def test_recovery_codes_each_work_once(gatehouse):
    email = f"recover-{uuid.uuid4().hex[:8]}@example.com"
    _, tokens = enrol(gatehouse, email)
    made = api(gatehouse, "POST", "/auth/mfa/recovery-codes", token=tokens["access_token"], json={})
    assert made.status_code == 200, made.text
    codes = made.json()["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10

    attempt = mfa_required(password_sign_in(gatehouse, email))
    typed = codes[0].upper().replace("-", " ")  # as a person might type it
    ok = api(gatehouse, "POST", "/auth/mfa/recovery-code/sign-in", json={"recovery_code": typed, "code": attempt})
    assert ok.status_code == 200, ok.text
    assert ok.json()["user_id"] == tokens["user_id"]

    attempt = mfa_required(password_sign_in(gatehouse, email))
    spent = api(gatehouse, "POST", "/auth/mfa/recovery-code/sign-in", json={"recovery_code": codes[0], "code": attempt})
    assert spent.status_code == 400 and "recovery code" in spent.text, spent.text
    unknown = api(gatehouse, "POST", "/auth/mfa/recovery-code/sign-in", json={"recovery_code": "aaaaa-bbbbb", "code": attempt})
    assert unknown.status_code == 400, unknown.text
    ok = api(gatehouse, "POST", "/auth/mfa/recovery-code/sign-in", json={"recovery_code": codes[1], "code": attempt})
    assert ok.status_code == 200, ok.text

    # A new set voids the old one.
    fresh = api(gatehouse, "POST", "/auth/mfa/recovery-codes", token=ok.json()["access_token"], json={}).json()
    attempt = mfa_required(password_sign_in(gatehouse, email))
    old = api(gatehouse, "POST", "/auth/mfa/recovery-code/sign-in", json={"recovery_code": codes[2], "code": attempt})
    assert old.status_code == 400, old.text
    ok = api(gatehouse, "POST", "/auth/mfa/recovery-code/sign-in",
             json={"recovery_code": fresh["recovery_codes"][0], "code": attempt})
    assert ok.status_code == 200, ok.text


def test_turning_it_off_and_the_server_reset(gatehouse):
    email = f"off-{uuid.uuid4().hex[:8]}@example.com"
    totp, tokens = enrol(gatehouse, email)
    off = api(gatehouse, "PATCH", "/users/me", token=tokens["access_token"], json={"totp_secret_base64": None})
    assert off.json()["requires_totp_mfa"] is False
    assert password_sign_in(gatehouse, email).status_code == 200

    # The server turns it on (as Stack's server API may) and an admin's reset turns it off.
    secret = base64.b64encode(os.urandom(20)).decode()
    r = api(gatehouse, "PATCH", f"/users/{tokens['user_id']}", access="server", json={"totp_secret_base64": secret})
    assert r.json()["requires_totp_mfa"] is True
    mfa_required(password_sign_in(gatehouse, email))
    r = api(gatehouse, "PATCH", f"/users/{tokens['user_id']}", access="server", json={"totp_secret_base64": None})
    assert r.json()["requires_totp_mfa"] is False
    assert password_sign_in(gatehouse, email).status_code == 200

    bad = api(gatehouse, "PATCH", "/users/me", token=tokens["access_token"], json={"totp_secret_base64": "not base64!"})
    assert bad.json()["code"] == "SCHEMA_ERROR", bad.text
    assert "totp_secret_base64 is not valid base64" in bad.json()["error"]
    none = api(gatehouse, "POST", "/auth/mfa/recovery-codes", token=tokens["access_token"], json={})
    assert none.status_code == 400 and "authenticator" in none.text, none.text
