"""Schemathesis against a running gatehouse, from the OpenAPI document it serves: every operation
with valid and invalid input, as each of the three access types (client with a signed-in user,
server, admin). No answer may be a 5xx, and every answer must be one the document allows (status,
content type, headers, body schema).

Bounded for the test command (GATEHOUSE_FUZZ_EXAMPLES cases per operation, GATEHOUSE_FUZZ_SECONDS
per access type); `GATEHOUSE_FUZZ_LONG=1` runs the long pass instead (100 cases per operation, no
time limit, at least 10,000 requests) and prints its figures.
"""

import os
import re
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from conftest import start_gatehouse

ST = str(Path(__file__).resolve().parents[1] / ".venv" / "bin" / "st")
LONG = os.environ.get("GATEHOUSE_FUZZ_LONG") == "1"
EXAMPLES = 100 if LONG else int(os.environ.get("GATEHOUSE_FUZZ_EXAMPLES", "10"))
SECONDS = None if LONG else int(os.environ.get("GATEHOUSE_FUZZ_SECONDS", "100"))
CHECKS = ",".join([
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
])


@pytest.fixture(scope="module")
def server():
    # Limits off: the fuzzer would otherwise spend its cases on 429s (abuse.test.mjs covers them).
    yield from start_gatehouse(GATEHOUSE_RATE_LIMITS="off")


def headers_for(server, access):
    # Every credential header the document names, those this access type does not use empty (the
    # server reads an empty header as none), so the fuzzer never makes up a credential.
    h = {"x-stack-project-id": server["project_id"], "x-stack-access-type": access,
         "x-stack-publishable-client-key": "", "x-stack-secret-server-key": "",
         "x-stack-super-secret-admin-key": "", "x-stack-admin-access-token": "",
         "x-stack-access-token": "", "authorization": ""}
    if access == "client":
        h["x-stack-publishable-client-key"] = server["publishable_client_key"]
        signed_up = requests.post(f"{server['base_url']}/api/v1/auth/password/sign-up", timeout=10,
                                  headers={k: v for k, v in h.items() if v},
                                  json={"email": "fuzz@example.com", "password": "a long enough fuzz password"})
        signed_up.raise_for_status()
        h["x-stack-access-token"] = signed_up.json()["access_token"]
    elif access == "server":
        h["x-stack-secret-server-key"] = server["secret_server_key"]
    else:
        h["x-stack-super-secret-admin-key"] = server["super_secret_admin_key"]
    return h


# Operations each run leaves alone, as they would spoil the rest of it: deleting the project,
# revoking the key set its keys are in; and for the client, ending its session or deleting itself.
SPOILERS = {
    "client": ["auth.sessions.current.delete", "users.user_id.delete"],
    "server": [],
    "admin": ["internal.projects.current.delete", "internal.api-keys.key_set_id.patch"],
}


def fuzz(server, access, headers):
    base = f"{server['base_url']}/api/v1"
    document = requests.get(f"{base}/openapi.json", timeout=10).json()
    # The operations this access type may call (and those that take no credentials): refusals of
    # the others are conformance.test.mjs's, and the time goes further on what can succeed.
    allowed = [op["operationId"] for ops in document["paths"].values() for op in ops.values()
               if {access, "none"} & set(op["x-gatehouse-access"]) and op["operationId"] not in SPOILERS[access]]
    args = [ST, "run", f"{base}/openapi.json", "--url", base, "--checks", CHECKS,
            "--max-examples", str(EXAMPLES), "--workers", "1", "--seed", "26",
            "--suppress-health-check", "all", "--request-timeout", "30"]
    for op in allowed:
        args += ["--include-operation-id", op]
    if SECONDS:
        args += ["--max-time", str(SECONDS)]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    started = time.monotonic()
    run = subprocess.run(args, capture_output=True, text=True, env=dict(os.environ, NO_COLOR="1"))
    return access, run, time.monotonic() - started


def cases(run):
    """How many test cases (a request each, at least) a run's summary counts."""
    found = re.search(r"(\d+) generated", run.stdout)
    return int(found.group(1)) if found else 0


def test_every_answer_is_documented_and_none_is_a_server_error(server):
    runs = [(a, headers_for(server, a)) for a in ("client", "server", "admin")]
    with ThreadPoolExecutor(len(runs)) as pool:
        results = list(pool.map(lambda r: fuzz(server, r[0], r[1]), runs))
    failed = []
    for access, run, seconds in results:
        print(f"\n=== schemathesis as {access}: {cases(run)} cases in {seconds:.0f} s ===\n{run.stdout[-1500:]}")
        if run.returncode != 0:
            out = run.stdout
            start = min([i for i in (out.find("= FAILURES ="), out.find("= ERRORS =")) if i >= 0] or [0])
            failed.append(f"as {access} (exit {run.returncode}):\n{out[start:][:30000]}\n{run.stderr[-2000:]}")
    panics = [line for line in server["log"] if "panicked" in line or "request failed" in line]
    assert not failed, "\n\n".join(failed)
    total = sum(cases(run) for _, run, _ in results)
    print(f"\nschemathesis: {total} cases in all, no 5xx, every answer as documented")
    if LONG:
        assert total >= 10_000, f"the long run made {total} cases"
    assert not panics, "".join(panics[:20])
