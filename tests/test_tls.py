"""Transport security to Temporal: mutual TLS through `temporal_client.connect`, the one way the
project connects (worker, API, reconciler, operator commands, the container health check).

The dev server has no TLS of its own, so it runs behind Debian's nginx (`grpc_pass`, installed by
`make system-deps`), which terminates TLS and requires a client certificate from the CA this test
makes (with `cryptography`): a client with a valid certificate runs a workflow through it; one
without a certificate, with one from another CA, or not trusting the server's CA is refused.
"""

from __future__ import annotations

import ast
import asyncio
import datetime as dt
import importlib.util
import ipaddress
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from temporalio import workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from config import ROOT, Settings
from temporal_client import connect, tls_config
from tests.fixtures_dev import free_port

SERVER_NAME = "temporal.complaints.internal"  # not the address dialled: temporal_tls_server_name


# ------------------------------------------------------------------ certificates


@dataclass
class Issued:
    cert: Path
    key: Path


class Authority:
    """A CA that issues server and client certificates into `folder`."""

    def __init__(self, folder: Path, name: str) -> None:
        self.folder, self.name = folder, name
        self.key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} CA")])
        self.cert = (
            self._builder(subject, self.key.public_key(), subject)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_cert_sign=True,
                    crl_sign=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(self.key, hashes.SHA256())
        )
        self.path = folder / f"{name}-ca.pem"
        self.path.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    @staticmethod
    def _builder(subject: x509.Name, public_key: object, issuer: x509.Name) -> x509.CertificateBuilder:
        now = dt.datetime.now(dt.UTC)
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(public_key)  # type: ignore[arg-type]
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
        )

    def issue(self, cn: str, *, server: bool) -> Issued:
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
        builder = self._builder(subject, key.public_key(), self.cert.subject).add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        if server:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName(cn), x509.IPAddress(ipaddress.ip_address("127.0.0.2"))]
                ),
                critical=False,
            )
        cert = builder.sign(self.key, hashes.SHA256())
        issued = Issued(self.folder / f"{self.name}-{cn}.pem", self.folder / f"{self.name}-{cn}.key")
        issued.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        issued.key.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return issued


@dataclass
class Pki:
    ca: Authority
    other_ca: Authority
    server: Issued
    client: Issued
    stranger: Issued  # a client certificate from another CA


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    folder = tmp_path_factory.mktemp("pki")
    ca, other = Authority(folder, "center"), Authority(folder, "other")
    return Pki(
        ca=ca,
        other_ca=other,
        server=ca.issue(SERVER_NAME, server=True),
        client=ca.issue("worker", server=False),
        stranger=other.issue("worker", server=False),
    )


# ------------------------------------------------------------------ the proxy


def nginx_binary() -> str:
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")
    assert found, "nginx is not installed: run `make system-deps` (Debian's nginx-light)"
    return found


@pytest.fixture(scope="module")
def tls_proxy(
    dev_env: WorkflowEnvironment, pki: Pki, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """nginx on 127.0.0.1:<port>: TLS with the server certificate, a client certificate of the
    center's CA required, gRPC passed in plaintext to the dev server. Yields the address."""
    folder = tmp_path_factory.mktemp("nginx")
    upstream = dev_env.client.service_client.config.target_host
    port = free_port()
    user = "user root root;" if os.geteuid() == 0 else ""
    temp = " ".join(
        f"{kind}_temp_path {folder / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (folder / "nginx.conf").write_text(
        f"""
        {user}
        worker_processes 1;
        daemon off;
        pid {folder / "nginx.pid"};
        error_log {folder / "error.log"} notice;
        events {{ worker_connections 64; }}
        http {{
            access_log off;
            {temp}
            server {{
                listen 127.0.0.1:{port} ssl http2;
                ssl_certificate {pki.server.cert};
                ssl_certificate_key {pki.server.key};
                ssl_protocols TLSv1.2 TLSv1.3;
                ssl_client_certificate {pki.ca.path};
                ssl_verify_client on;
                location / {{
                    grpc_read_timeout 300s;
                    grpc_send_timeout 300s;
                    grpc_pass grpc://{upstream};
                }}
            }}
        }}
        """
    )
    proc = subprocess.Popen(
        [nginx_binary(), "-p", str(folder), "-c", str(folder / "nginx.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        import socket
        import time

        deadline = time.monotonic() + 10
        while True:
            assert proc.poll() is None, f"nginx exited: {proc.stderr.read().decode() if proc.stderr else ''}"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "nginx did not listen within 10 s"
                time.sleep(0.05)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def tls_settings(address: str, **overrides: object) -> Settings:
    return Settings(_env_file=None, temporal_address=address, temporal_namespace="default", **overrides)  # type: ignore[call-arg]


@pytest.fixture
def mtls(tls_proxy: str, pki: Pki) -> Settings:
    """Settings of a client holding a certificate of the center's CA."""
    return tls_settings(
        tls_proxy,
        temporal_tls_ca_file=pki.ca.path,
        temporal_tls_cert_file=pki.client.cert,
        temporal_tls_key_file=pki.client.key,
        temporal_tls_server_name=SERVER_NAME,
    )


# ------------------------------------------------------------------ the tests


@workflow.defn(sandboxed=False)
class Greet:
    @workflow.run
    async def run(self, name: str) -> str:
        return f"hello {name}"


async def test_client_with_a_valid_certificate_runs_a_workflow(mtls: Settings) -> None:
    client = await connect(mtls)
    queue = f"tls-{uuid.uuid4()}"
    async with Worker(
        client, task_queue=queue, workflows=[Greet], workflow_runner=UnsandboxedWorkflowRunner()
    ):
        result = await asyncio.wait_for(
            client.execute_workflow(Greet.run, "center", id=f"tls-{uuid.uuid4()}", task_queue=queue), 30
        )
    assert result == "hello center"


async def refused(settings: Settings) -> str:
    """The error a non-lazy connect through the proxy ends in (it must end in one)."""
    with pytest.raises(RuntimeError) as info:
        await asyncio.wait_for(connect(settings), 30)
    return str(info.value)


async def test_client_without_a_certificate_is_refused(mtls: Settings) -> None:
    message = await refused(
        mtls.model_copy(update={"temporal_tls_cert_file": None, "temporal_tls_key_file": None})
    )
    assert "Failed client connect" in message


async def test_client_with_a_certificate_of_another_ca_is_refused(mtls: Settings, pki: Pki) -> None:
    stranger = mtls.model_copy(
        update={"temporal_tls_cert_file": pki.stranger.cert, "temporal_tls_key_file": pki.stranger.key}
    )
    assert "Failed client connect" in await refused(stranger)


async def test_client_checks_the_server_certificate(mtls: Settings, pki: Pki) -> None:
    """The client refuses a server whose certificate is not from the configured CA, or not for
    the configured name, and a plaintext client gets nowhere."""
    assert "Failed client connect" in await refused(
        mtls.model_copy(update={"temporal_tls_ca_file": pki.other_ca.path})
    )
    assert "Failed client connect" in await refused(
        mtls.model_copy(update={"temporal_tls_server_name": "other.internal"})
    )
    plain = tls_settings(mtls.temporal_address)
    assert tls_config(plain) is None
    assert "Failed client connect" in await refused(plain)


async def test_worker_health_check_connects_with_the_same_settings(
    mtls: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """deploy/app/healthcheck.py asks Temporal through the TLS settings of the container."""
    from config import get_settings

    for key in list(os.environ):
        if key.startswith(("COMPLAINTS_", "TEMPORAL_")):
            monkeypatch.delenv(key)
    for name in (
        "temporal_address",
        "temporal_namespace",
        "temporal_tls_ca_file",
        "temporal_tls_cert_file",
        "temporal_tls_key_file",
        "temporal_tls_server_name",
    ):
        monkeypatch.setenv(f"COMPLAINTS_{name.upper()}", str(getattr(mtls, name)))
    monkeypatch.setenv("COMPLAINTS_TASK_QUEUE", f"tls-{uuid.uuid4()}")
    spec = importlib.util.spec_from_file_location("healthcheck", ROOT / "deploy" / "app" / "healthcheck.py")
    assert spec and spec.loader
    healthcheck = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(healthcheck)
    get_settings.cache_clear()
    try:
        assert await healthcheck._worker_pollers() == set()  # connected, asked, nobody polling
        monkeypatch.delenv("COMPLAINTS_TEMPORAL_TLS_CERT_FILE")
        monkeypatch.delenv("COMPLAINTS_TEMPORAL_TLS_KEY_FILE")
        get_settings.cache_clear()
        with pytest.raises(RuntimeError, match="Failed client connect"):
            await healthcheck._worker_pollers()
    finally:
        get_settings.cache_clear()


# ------------------------------------------------------------------ settings and the one way in


def test_tls_settings_map_to_the_sdk(pki: Pki) -> None:
    s = tls_settings("h:1", temporal_tls_ca_file=pki.ca.path, temporal_tls_server_name=SERVER_NAME)
    tls = tls_config(s)
    assert not isinstance(tls, bool) and tls is not None
    assert tls.server_root_ca_cert == pki.ca.path.read_bytes() and tls.domain == SERVER_NAME
    assert tls.client_cert is None
    assert tls_config(tls_settings("h:1", temporal_tls=True)) is True
    with pytest.raises(ValueError, match="go together"):
        tls_settings("h:1", temporal_tls_cert_file=pki.client.cert)
    with pytest.raises(ValueError, match="temporal_tls_ca_file .* cannot be read"):
        tls_config(tls_settings("h:1", temporal_tls_ca_file=pki.ca.path.with_name("missing.pem")))


async def test_api_key_is_sent_as_a_bearer_token_over_tls(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Temporal Cloud: the API key goes to the SDK (which then uses TLS), never in plaintext."""
    seen: dict[str, object] = {}

    async def fake_connect(target: str, **kwargs: object) -> object:
        seen.update(kwargs, target=target)
        return object()

    from temporalio.client import Client

    monkeypatch.setattr(Client, "connect", fake_connect)
    await connect(tls_settings("ns.acct.tmprl.cloud:7233", temporal_api_key="secret-key"))
    assert seen["api_key"] == "secret-key" and seen["tls"] is None  # None + key: the SDK uses TLS
    assert "secret-key" not in repr(tls_settings("h:1", temporal_api_key="secret-key"))


def test_every_temporal_client_is_made_by_temporal_client_py() -> None:
    """No code of the project (worker, API, activities' CLIs, scripts, health check) calls
    `Client.connect` itself: all go through `temporal_client.connect` and its TLS settings."""
    sources = [ROOT / "worker.py", ROOT / "db.py", ROOT / "deploy" / "app" / "healthcheck.py"]
    for folder in ("domain", "workflows", "activities", "api", "scripts"):
        sources += sorted((ROOT / folder).rglob("*.py"))
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "connect"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "Client"
            ):
                raise AssertionError(f"{path.relative_to(ROOT)}:{node.lineno}: use temporal_client.connect")
