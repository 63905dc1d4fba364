"""What an operator's tools see: /health and /ready as a load balancer probes them, /metrics as
Prometheus scrapes it (parsed by the official Python client's parser, behind a bearer token),
and the JSON log lines a log shipper reads, each request's lines carrying its id."""

import json
import time
import uuid

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from conftest import start_gatehouse

PASSWORD = "correct horse battery"
TOKEN = "scrape-" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def ops():
    yield from start_gatehouse(GATEHOUSE_LOG_FORMAT="json", GATEHOUSE_METRICS_TOKEN=TOKEN,
                               RUST_LOG="info,sqlx=warn,gatehouse::access=debug")


def client(gh, **extra):
    return {"x-stack-access-type": "client", "x-stack-project-id": gh["project_id"],
            "x-stack-publishable-client-key": gh["publishable_client_key"], **extra}


def scrape(gh):
    r = requests.get(f"{gh['base_url']}/metrics", headers={"authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {f.name: f for f in text_string_to_metric_families(r.text)}


def sample(families, family, name, **labels):
    found = [s.value for s in families[family].samples
             if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]
    return sum(found) if found else None


def test_health_and_ready(ops):
    health = requests.get(f"{ops['base_url']}/health", timeout=10)
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    ready = requests.get(f"{ops['base_url']}/ready", timeout=10)
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})


def test_metrics_count_requests_sign_ins_jobs_and_the_pool(ops):
    base = ops["base_url"]
    assert requests.get(f"{base}/metrics", timeout=10).status_code == 401
    assert requests.get(f"{base}/metrics", headers={"authorization": "Bearer wrong"}, timeout=10).status_code == 401
    before = scrape(ops)
    email = f"ops-{uuid.uuid4().hex[:8]}@example.com"
    up = requests.post(f"{base}/api/v1/auth/password/sign-up", headers=client(ops),
                       json={"email": email, "password": PASSWORD}, timeout=10)
    assert up.status_code == 200, up.text
    for _ in range(2):
        wrong = requests.post(f"{base}/api/v1/auth/password/sign-in", headers=client(ops),
                              json={"email": email, "password": "not the password"}, timeout=10)
        assert wrong.status_code == 400
    right = requests.post(f"{base}/api/v1/auth/password/sign-in", headers=client(ops),
                          json={"email": email, "password": PASSWORD}, timeout=10)
    assert right.status_code == 200, right.text
    token = right.json()["access_token"]
    for _ in range(3):
        me = requests.get(f"{base}/api/v1/users/me", headers=client(ops, **{"x-stack-access-token": token}), timeout=10)
        assert me.status_code == 200
    stranger = str(uuid.uuid4())
    requests.get(f"{base}/api/v1/users/{stranger}", headers=client(ops), timeout=10)

    after = scrape(ops)
    duration = "gatehouse_http_request_duration_seconds"
    assert after[duration].type == "histogram"
    me_count = sample(after, duration, f"{duration}_count", route="/api/v1/users/{user_id}", method="GET", status="200")
    assert me_count == 3 + (sample(before, duration, f"{duration}_count", route="/api/v1/users/{user_id}", method="GET", status="200") or 0)
    inf = sample(after, duration, f"{duration}_bucket", route="/api/v1/users/{user_id}", status="200", le="+Inf")
    assert inf == me_count, "the +Inf bucket counts every request"
    assert sample(after, duration, f"{duration}_sum", route="/api/v1/users/{user_id}", status="200") > 0
    # The route's pattern, never the path as sent: an id makes no series of its own.
    routes = {s.labels["route"] for s in after[duration].samples}
    assert "/api/v1/users/{user_id}" in routes
    assert not any(stranger in r for r in routes)
    assert sample(after, duration, f"{duration}_count", route="/api/v1/auth/password/sign-in", status="400") >= 2

    # prometheus_client names a counter family without its _total suffix.
    sign_ins = after["gatehouse_sign_ins"]
    assert sign_ins.type == "counter"
    def delta(result):
        was = sample(before, "gatehouse_sign_ins", "gatehouse_sign_ins_total", method="password", result=result) if "gatehouse_sign_ins" in before else None
        return sample(after, "gatehouse_sign_ins", "gatehouse_sign_ins_total", method="password", result=result) - (was or 0)
    assert delta("failure") == 2
    assert delta("success") == 2, "the sign-up's session and the sign-in"

    assert {s.labels["status"] for s in after["gatehouse_jobs"].samples} == {"pending", "running", "failed"}
    pool = {s.labels["state"]: s.value for s in after["gatehouse_db_pool_connections"].samples}
    assert set(pool) == {"idle", "in_use"} and pool["idle"] + pool["in_use"] >= 1
    assert sample(after, "gatehouse_db_pool_max_connections", "gatehouse_db_pool_max_connections") >= 1
    assert sample(after, "process_resident_memory_bytes", "process_resident_memory_bytes") > 1_000_000
    assert sample(after, "gatehouse_job_failures", "gatehouse_job_failures_total") == 0


def test_json_logs_carry_each_request_id(ops):
    rid = "ops-" + uuid.uuid4().hex[:12]
    r = requests.get(f"{ops['base_url']}/api/v1/users/me", headers=client(ops, **{"x-request-id": rid}), timeout=10)
    assert r.headers["x-request-id"] == rid
    mine = requests.get(f"{ops['base_url']}/health", timeout=10)
    assert len(mine.headers["x-request-id"]) == 16, "a request without an id gets one"
    deadline = time.monotonic() + 10
    while True:
        lines = "".join(ops["log"]).splitlines()
        records = [json.loads(line) for line in lines if line.strip()]
        access = [rec for rec in records if rec.get("target") == "gatehouse::access" and rec.get("span", {}).get("id") == rid]
        if access or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert access, "the request's access line carries its id"
    assert access[0]["fields"]["route"] == "/api/v1/users/{user_id}"
    assert access[0]["fields"]["status"] in (400, 401)
    assert all("level" in rec and "timestamp" in rec for rec in records), "every line is a JSON record"
