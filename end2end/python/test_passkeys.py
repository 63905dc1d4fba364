"""Passkeys over plain HTTP with a software authenticator (PyPI `soft-webauthn`, on `fido2`):
register and sign in on Stack's wire, and the ways it must fail: another origin, a replayed
challenge, a credential never registered, passkeys turned off. Chromium's virtual authenticator
drives the hosted pages in end2end/passkeys.test.mjs."""

import base64
import json
import os
import uuid

import requests
from soft_webauthn import SoftWebauthnDevice

from test_mfa import api, mfa_required
from test_plain_http import sign_up

ORIGIN = "http://localhost:3000"


class Authenticator(SoftWebauthnDevice):
    """soft-webauthn's device, verifying its user as most passkeys do (a PIN or a fingerprint):
    the UV flag set in what it signs. soft-webauthn's own device does not verify its user."""

    def create(self, options, origin):
        out = super().create(options, origin)
        att = out["response"]["attestationObject"]
        from fido2 import cbor
        obj = cbor.decode(att)
        auth = bytearray(obj["authData"])
        auth[32] |= 0x04
        obj["authData"] = bytes(auth)
        out["response"]["attestationObject"] = cbor.encode(obj)
        return out

    def get(self, options, origin):
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from fido2.utils import sha256
        out = super().get(options, origin)
        auth = bytearray(out["response"]["authenticatorData"])
        auth[32] |= 0x04
        auth = bytes(auth)
        client_data = out["response"]["clientDataJSON"]
        out["response"]["authenticatorData"] = auth
        out["response"]["signature"] = self.private_key.sign(auth + sha256(client_data), ec.ECDSA(hashes.SHA256()))
        return out


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def as_json(credential):
    """A credential as browsers (and @simplewebauthn/browser) send it: base64url everywhere."""
    return {
        "id": b64url(credential["rawId"]),
        "rawId": b64url(credential["rawId"]),
        "type": credential["type"],
        "response": {k: b64url(v) for k, v in credential["response"].items() if v is not None},
        "clientExtensionResults": {},
    }


def enable(gh, on=True, rules=None):
    override = {"auth.passkey.allowSignIn": on}
    override.update(rules or {})
    r = api(gh, "PATCH", "/internal/config/override/environment", access="admin",
            json={"config_override_string": json.dumps(override)})
    assert r.status_code == 200, r.text


def register(gh, token, device, origin=ORIGIN, anonymous=False):
    start = api(gh, "POST", "/auth/passkey/initiate-passkey-registration", token=token, anonymous=anonymous, json={})
    assert start.status_code == 200, start.text
    options = start.json()["options_json"]
    assert options["rp"]["id"] == "THIS_VALUE_WILL_BE_REPLACED.example.com"
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["authenticatorSelection"]["userVerification"] == "preferred"
    public_key = {
        "rp": {"id": "localhost", "name": options["rp"]["name"]},
        "user": {"id": unb64url(options["user"]["id"]), "name": options["user"]["name"]},
        "challenge": unb64url(options["challenge"]),
        "pubKeyCredParams": options["pubKeyCredParams"],
    }
    credential = device.create({"publicKey": public_key}, origin)
    return api(gh, "POST", "/auth/passkey/register", token=token, anonymous=anonymous,
               json={"credential": as_json(credential), "code": start.json()["code"]})


def assertion(gh, device, origin=ORIGIN):
    start = api(gh, "POST", "/auth/passkey/initiate-passkey-authentication", json={})
    assert start.status_code == 200, start.text
    options = start.json()["options_json"]
    assert options["rpId"] == "THIS_VALUE_WILL_BE_REPLACED.example.com"
    signed = device.get({"publicKey": {"challenge": unb64url(options["challenge"]), "rpId": "localhost"}}, origin)
    return as_json(signed), start.json()["code"]


def passkey_sign_in(gh, device, origin=ORIGIN, tamper=None):
    """Signs in with `device` (answering from `origin`); `tamper` may change the answer first."""
    response, code = assertion(gh, device, origin)
    if tamper:
        tamper(response)
    return api(gh, "POST", "/auth/passkey/sign-in", json={"authentication_response": response, "code": code})


def test_register_then_sign_in(gatehouse):
    enable(gatehouse)
    tokens = sign_up(gatehouse, f"pk-{uuid.uuid4().hex[:8]}@example.com")
    device = Authenticator()
    r = register(gatehouse, tokens["access_token"], device)
    assert r.status_code == 200, r.text
    assert r.json() == {"user_handle": b64url(device.credential_id)}
    me = api(gatehouse, "GET", "/users/me", token=tokens["access_token"]).json()
    assert me["passkey_auth_enabled"] is True

    response, code = assertion(gatehouse, device)
    ok = api(gatehouse, "POST", "/auth/passkey/sign-in", json={"authentication_response": response, "code": code})
    assert ok.status_code == 200, ok.text
    assert ok.json()["user_id"] == tokens["user_id"]
    assert ok.json()["is_new_user"] is False

    # The challenge was used: the same answer again is refused.
    again = api(gatehouse, "POST", "/auth/passkey/sign-in", json={"authentication_response": response, "code": code})
    assert again.json()["code"] == "VERIFICATION_CODE_ALREADY_USED", again.text

    # Stack's switch: false removes the passkeys; true cannot be set by hand.
    on = api(gatehouse, "PATCH", "/users/me", token=tokens["access_token"], json={"passkey_auth_enabled": True})
    assert on.status_code == 400 and "Cannot manually enable passkey auth" in on.text, on.text
    off = api(gatehouse, "PATCH", "/users/me", token=tokens["access_token"], json={"passkey_auth_enabled": False})
    assert off.json()["passkey_auth_enabled"] is False
    gone = passkey_sign_in(gatehouse, device)
    assert gone.json()["code"] == "PASSKEY_AUTHENTICATION_FAILED", gone.text


def test_user_verification_is_preferred_and_kept(gatehouse):
    """As in Stack, an authenticator that cannot verify its user may be a passkey; one that
    verified its user when it was added must verify it every time."""
    enable(gatehouse)
    tokens = sign_up(gatehouse, f"pk-{uuid.uuid4().hex[:8]}@example.com")
    plain = SoftWebauthnDevice()
    assert register(gatehouse, tokens["access_token"], plain).status_code == 200
    ok = passkey_sign_in(gatehouse, plain)
    assert ok.json()["user_id"] == tokens["user_id"], ok.text

    other = sign_up(gatehouse, f"pk-{uuid.uuid4().hex[:8]}@example.com")
    verifying = Authenticator()
    assert register(gatehouse, other["access_token"], verifying).status_code == 200
    unverified = Authenticator.__bases__[0].get  # the same key, answering without verifying
    verifying.get = lambda options, origin: unverified(verifying, options, origin)
    r = passkey_sign_in(gatehouse, verifying)
    assert r.json()["code"] == "PASSKEY_AUTHENTICATION_FAILED", r.text


def test_other_origins_and_unknown_credentials_are_refused(gatehouse):
    enable(gatehouse)
    tokens = sign_up(gatehouse, f"pk-{uuid.uuid4().hex[:8]}@example.com")
    device = Authenticator()
    bad = register(gatehouse, tokens["access_token"], device, origin="https://evil.example")
    assert bad.json()["code"] == "PASSKEY_REGISTRATION_FAILED", bad.text
    assert "origin is not allowed" in bad.json()["error"]
    assert register(gatehouse, tokens["access_token"], device).status_code == 200

    r = passkey_sign_in(gatehouse, device, origin="https://evil.example")
    assert r.json()["code"] == "PASSKEY_AUTHENTICATION_FAILED", r.text
    assert "origin is not allowed" in r.json()["error"]

    stranger = Authenticator()
    stranger.cred_init("localhost", unb64url(b64url(uuid.UUID(tokens["user_id"]).bytes)))
    r = passkey_sign_in(gatehouse, stranger)
    assert r.json()["code"] == "PASSKEY_AUTHENTICATION_FAILED", r.text

    # A signature that does not verify (the response tampered with after signing).
    r = passkey_sign_in(gatehouse, device, tamper=lambda resp: resp["response"].update(signature=b64url(os.urandom(70))))
    assert r.json()["code"] == "PASSKEY_AUTHENTICATION_FAILED", r.text


def test_second_factor_and_switched_off(gatehouse):
    enable(gatehouse)
    tokens = sign_up(gatehouse, f"pk-{uuid.uuid4().hex[:8]}@example.com")
    device = Authenticator()
    assert register(gatehouse, tokens["access_token"], device).status_code == 200
    secret = base64.b64encode(os.urandom(20)).decode()
    api(gatehouse, "PATCH", "/users/me", token=tokens["access_token"], json={"totp_secret_base64": secret})
    mfa_required(passkey_sign_in(gatehouse, device))

    enable(gatehouse, on=False)
    r = api(gatehouse, "POST", "/auth/passkey/initiate-passkey-authentication", json={})
    assert r.json()["code"] == "PASSKEY_AUTHENTICATION_NOT_ENABLED", r.text
    assert r.json()["error"] == "Passkey authentication is not enabled for this project."
    enable(gatehouse)


def test_an_anonymous_user_signs_up_with_a_passkey_through_the_sign_up_rules(gatehouse):
    anon = api(gatehouse, "POST", "/auth/anonymous/sign-up").json()
    enable(gatehouse, rules={"auth.signUpRules.no-passkeys": {
        "enabled": True, "priority": 0, "condition": 'authMethod == "passkey"',
        "action": {"type": "reject", "message": "No passkey sign-ups here."}}})
    refused = register(gatehouse, anon["access_token"], Authenticator(), anonymous=True)
    assert refused.json()["code"] == "SIGN_UP_REJECTED", refused.text
    enable(gatehouse, rules={"auth.signUpRules.no-passkeys": {
        "enabled": False, "priority": 0, "condition": 'authMethod == "passkey"', "action": {"type": "reject"}}})
    device = Authenticator()
    assert register(gatehouse, anon["access_token"], device, anonymous=True).status_code == 200
    user = api(gatehouse, "GET", f"/users/{anon['user_id']}", access="server").json()
    assert user["is_anonymous"] is False
    assert user["passkey_auth_enabled"] is True
    ok = passkey_sign_in(gatehouse, device)
    assert ok.json()["user_id"] == anon["user_id"], ok.text
