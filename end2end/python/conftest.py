"""Starts a real gatehouse for the plain-HTTP tests: fresh database (SQLite, or PostgreSQL when
GATEHOUSE_TEST_DB=postgres), a project made with the CLI, a free port."""

import json
import os
import re
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("GATEHOUSE_BIN", str(ROOT / "target" / "debug" / "gatehouse"))
PG = os.environ.get("GATEHOUSE_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")


def fresh_database_url(data_dir: str) -> str:
    if os.environ.get("GATEHOUSE_TEST_DB") == "postgres":
        name = f"gh_test_{uuid.uuid4().hex}"
        subprocess.run(["psql", f"{PG}/postgres", "-qc", f"CREATE DATABASE {name}"], check=True)
        return f"{PG}/{name}"
    return f"sqlite://{data_dir}/gatehouse.db"


def start_gatehouse(**extra_env):
    """A gatehouse on a fresh database with one project made by the CLI: yields its base URL and
    the project's id and keys, and stops it afterwards."""
    data_dir = tempfile.mkdtemp(prefix="gatehouse-py-")
    env = dict(os.environ, DATABASE_URL=fresh_database_url(data_dir), GATEHOUSE_DATA_DIR=data_dir,
               GATEHOUSE_ADDR="127.0.0.1:0", RUST_LOG="warn,gatehouse=info",
               STACK_SEED_INTERNAL_PROJECT_SIGN_UP_ENABLED="true")
    env.update(extra_env)
    project = json.loads(subprocess.run([BIN, "project", "create", "--display-name", "Python"],
                                        env=env, check=True, capture_output=True).stdout)
    proc = subprocess.Popen([BIN, "serve"], env=env, stderr=subprocess.PIPE, text=True)
    deadline, log = time.monotonic() + 30, ""
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        log += line
        match = re.search(r'listening on (http://[^\s"]+)', line)
        if match:
            break
        if proc.poll() is not None:
            raise RuntimeError(f"gatehouse exited:\n{log}")
    else:
        raise RuntimeError(f"gatehouse did not start:\n{log}")
    # Keep reading its log, so a chatty server never blocks on a full pipe; tests may read it.
    lines = [log]
    threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True).start()
    try:
        yield {"base_url": match.group(1), "log": lines, **project}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def gatehouse():
    yield from start_gatehouse()
