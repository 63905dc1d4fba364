"""Drives the release gatehouse with wrk and reports throughput, latency, RSS and ratios.

Called by scripts/bench (which builds what it needs). Loopback only; every run is bounded."""

import datetime
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "gatehouse")
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
PG = os.environ.get("GATEHOUSE_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
PASSWORD = "correct horse battery"


def rss_kib(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def http(method, url, headers, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={**headers, "content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"null")


def to_ms(text):
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    value, unit = float(m.group(1)), m.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def wrk(url, headers, connections, method="GET", body=None, seconds=SECONDS):
    script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
    script.write(f'wrk.method = "{method}"\n')
    if body is not None:
        script.write(f"wrk.body = {json.dumps(json.dumps(body))}\n")
        script.write('wrk.headers["Content-Type"] = "application/json"\n')
    script.close()
    args = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s", "-s", script.name]
    for k, v in headers.items():
        args += ["-H", f"{k}: {v}"]
    out = subprocess.run(args + [url], capture_output=True, text=True, timeout=seconds + 60).stdout
    os.unlink(script.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, sock.groups())) if sock else 0)
    return {"rps": rps, "p50": to_ms(lat["50"]), "p99": to_ms(lat["99"]), "errors": errors}


def run_backend(backend):
    data_dir = tempfile.mkdtemp(prefix="gatehouse-bench-")
    if backend == "postgres":
        name = f"gh_bench_{uuid.uuid4().hex}"
        subprocess.run(["psql", f"{PG}/postgres", "-qc", f"CREATE DATABASE {name}"], check=True)
        db_url = f"{PG}/{name}"
    else:
        db_url = f"sqlite://{data_dir}/gatehouse.db"
    env = dict(os.environ, DATABASE_URL=db_url, GATEHOUSE_DATA_DIR=data_dir, GATEHOUSE_ADDR="127.0.0.1:18555", RUST_LOG="warn")
    project = json.loads(subprocess.run([BIN, "project", "create", "--display-name", "Bench"], env=env, check=True, capture_output=True).stdout)
    base = "http://127.0.0.1:18555"
    started = time.monotonic()
    proc = subprocess.Popen([BIN, "serve"], env=env, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                urllib.request.urlopen(base + "/health", timeout=1).read()
                break
            except OSError:
                if time.monotonic() - started > 30:
                    raise RuntimeError("gatehouse did not answer within 30 s")
                time.sleep(0.002)
        cold_ms = (time.monotonic() - started) * 1000
        client = {"x-stack-access-type": "client", "x-stack-project-id": project["project_id"],
                  "x-stack-publishable-client-key": project["publishable_client_key"]}
        email = "bench@example.com"
        tokens = http("POST", base + "/api/v1/auth/password/sign-up", client, {"email": email, "password": PASSWORD})
        time.sleep(1)
        idle = rss_kib(proc.pid) / 1024
        results = {"cold_start_ms": cold_ms, "idle_rss_mb": idle}
        results["bare"] = wrk(base + "/health", {}, 32)
        results["users_me"] = wrk(base + "/api/v1/users/me", {**client, "x-stack-access-token": tokens["access_token"]}, 32)
        results["refresh"] = wrk(base + "/api/v1/auth/sessions/current/refresh", {**client, "x-stack-refresh-token": tokens["refresh_token"]}, 32, "POST", {})
        results["sign_in"] = wrk(base + "/api/v1/auth/password/sign-in", client, 32, "POST", {"email": email, "password": PASSWORD})
        # Session checks while a sign-in storm keeps argon2 busy.
        storm = {}
        t = threading.Thread(target=lambda: storm.update(wrk(base + "/api/v1/auth/password/sign-in", client, 32, "POST", {"email": email, "password": PASSWORD})))
        t.start()
        time.sleep(1)
        results["users_me_in_storm"] = wrk(base + "/api/v1/users/me", {**client, "x-stack-access-token": tokens["access_token"]}, 4, seconds=max(SECONDS - 2, 3))
        t.join()
        results["storm_sign_in"] = storm
        results["peak_rss_mb"] = rss_kib(proc.pid, "VmHWM") / 1024
        return results
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if backend == "postgres":
            subprocess.run(["psql", f"{PG}/postgres", "-qc", f"DROP DATABASE IF EXISTS {name}"], check=False)


def argon2_hash_ms():
    out = subprocess.run(["cargo", "bench", "-q", "--bench", "argon2"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return float(re.search(r"hash_ms ([\d.]+)", out).group(1))


def main():
    cores = os.cpu_count()
    hash_ms = argon2_hash_ms()
    limit = cores * 1000 / hash_ms
    rows, notes = [], []
    all_results = {}
    for backend in ["sqlite", "postgres"]:
        print(f"==> {backend}", file=sys.stderr, flush=True)
        r = run_backend(backend)
        all_results[backend] = r
        for key, label in [("bare", "GET /health (bare axum)"), ("users_me", "GET /api/v1/users/me"),
                           ("refresh", "POST …/sessions/current/refresh"), ("sign_in", "POST …/password/sign-in"),
                           ("users_me_in_storm", "users/me during a sign-in storm")]:
            x = r[key]
            rows.append(f"| {backend} | {label} | {x['rps']:,.0f} | {x['p50']:.2f} | {x['p99']:.2f} | {x['errors']} |")
        notes.append(
            f"| {backend} | {r['users_me']['rps'] / r['bare']['rps']:.0%} | {r['sign_in']['rps'] / limit:.0%} | "
            f"{r['users_me_in_storm']['p99']:.1f} ms | {r['idle_rss_mb']:.1f} MB | {r['peak_rss_mb']:.1f} MB | {r['cold_start_ms']:.0f} ms |")
    today = datetime.date.today().isoformat()
    table = "\n".join([
        f"Measured {today} on {cores} cores; argon2id hash {hash_ms:.1f} ms, so at most {limit:.0f} sign-ins/s "
        f"(cores ÷ hash time). wrk, 2 threads, 32 connections (4 for users/me during the storm), {SECONDS} s per run.",
        "",
        "| database | route | requests/s | p50 ms | p99 ms | errors |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
        *rows,
        "",
        "| database | users/me ÷ bare | sign-in ÷ argon2 limit | users/me p99 in storm | idle RSS | peak RSS | cold start |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        *notes,
    ])
    print(table)
    path = os.path.join(ROOT, "BENCHMARKS.md")
    text = open(path).read() if os.path.exists(path) else "# Benchmarks\n\n<!-- table -->\n<!-- /table -->\n"
    text = re.sub(r"<!-- table -->.*<!-- /table -->", lambda _: f"<!-- table -->\n{table}\n<!-- /table -->", text, flags=re.S)
    with open(path, "w") as f:
        f.write(text)
    print(f"\nwritten to {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
