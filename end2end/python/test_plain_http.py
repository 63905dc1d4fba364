"""Gatehouse from plain HTTP, as the seed docs' Python examples use Stack Auth: requests for the
calls, PyJWT's PyJWKClient to verify access tokens (ES256, issuer, audience = project id)."""

import uuid

import jwt
import requests

PASSWORD = "correct horse battery"


def headers(gh, access_type, **extra):
    h = {"x-stack-access-type": access_type, "x-stack-project-id": gh["project_id"]}
    if access_type == "client":
        h["x-stack-publishable-client-key"] = gh["publishable_client_key"]
    if access_type == "server":
        h["x-stack-secret-server-key"] = gh["secret_server_key"]
    h.update(extra)
    return h


def sign_up(gh, email):
    r = requests.post(f"{gh['base_url']}/api/v1/auth/password/sign-up", headers=headers(gh, "client"),
                      json={"email": email, "password": PASSWORD}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def test_sign_up_then_read_me(gatehouse):
    email = f"py-{uuid.uuid4().hex[:8]}@example.com"
    tokens = sign_up(gatehouse, email)
    me = requests.get(f"{gatehouse['base_url']}/api/v1/users/me",
                      headers=headers(gatehouse, "client", **{"x-stack-access-token": tokens["access_token"]}), timeout=10)
    assert me.status_code == 200, me.text
    assert me.json()["primary_email"] == email
    assert me.json()["id"] == tokens["user_id"]


def test_access_token_verifies_with_pyjwt_and_the_jwks(gatehouse):
    tokens = sign_up(gatehouse, f"jwt-{uuid.uuid4().hex[:8]}@example.com")
    project_id = gatehouse["project_id"]
    jwks = jwt.PyJWKClient(f"{gatehouse['base_url']}/api/v1/projects/{project_id}/.well-known/jwks.json")
    key = jwks.get_signing_key_from_jwt(tokens["access_token"])
    claims = jwt.decode(tokens["access_token"], key.key, algorithms=["ES256"], audience=project_id,
                        issuer=f"{gatehouse['base_url']}/api/v1/projects/{project_id}")
    assert claims["sub"] == tokens["user_id"]
    assert claims["role"] == "authenticated"


def test_wrong_password_is_a_known_error(gatehouse):
    email = f"wrong-{uuid.uuid4().hex[:8]}@example.com"
    sign_up(gatehouse, email)
    r = requests.post(f"{gatehouse['base_url']}/api/v1/auth/password/sign-in", headers=headers(gatehouse, "client"),
                      json={"email": email, "password": "not the password"}, timeout=10)
    assert r.status_code == 400
    assert r.headers["x-stack-known-error"] == "EMAIL_PASSWORD_MISMATCH"
    assert r.json()["code"] == "EMAIL_PASSWORD_MISMATCH"


def test_server_lists_users(gatehouse):
    email = f"listed-{uuid.uuid4().hex[:8]}@example.com"
    sign_up(gatehouse, email)
    r = requests.get(f"{gatehouse['base_url']}/api/v1/users", params={"query": email},
                     headers=headers(gatehouse, "server"), timeout=10)
    assert r.status_code == 200, r.text
    assert [u["primary_email"] for u in r.json()["items"]] == [email]
    denied = requests.get(f"{gatehouse['base_url']}/api/v1/users", headers=headers(gatehouse, "client"), timeout=10)
    assert denied.headers["x-stack-known-error"] == "INSUFFICIENT_ACCESS_TYPE"
