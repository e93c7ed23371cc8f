"""The one way this project connects to Temporal: address, namespace, transport security (TLS,
mutual TLS, a Temporal Cloud API key) and the pydantic data converter, from the process's
settings. The worker, the API, the reconciler, the operator commands and the container health
check all call `connect` (tests/test_tls.py checks nobody else calls `Client.connect`), so a
connection setting is added in one place."""

from __future__ import annotations

from pathlib import Path

from temporalio.client import Client, TLSConfig
from temporalio.contrib.pydantic import pydantic_data_converter

from config import Settings


def _read(path: Path | None, what: str) -> bytes | None:
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError as e:  # named, so a misconfigured container says which file is wrong
        raise ValueError(f"{what} {path} cannot be read: {e.strerror}") from e


def tls_config(settings: Settings) -> TLSConfig | bool | None:
    """What `Client.connect(tls=...)` gets: a `TLSConfig` when a CA, a client certificate or a
    server name is set; True for TLS against the system's CAs; None otherwise (the SDK then uses
    TLS exactly when an API key is set). Files are read now: a restart picks up renewed ones."""
    s = settings
    if s.temporal_tls_ca_file or s.temporal_tls_cert_file or s.temporal_tls_server_name:
        return TLSConfig(
            server_root_ca_cert=_read(s.temporal_tls_ca_file, "temporal_tls_ca_file"),
            domain=s.temporal_tls_server_name or None,
            client_cert=_read(s.temporal_tls_cert_file, "temporal_tls_cert_file"),
            client_private_key=_read(s.temporal_tls_key_file, "temporal_tls_key_file"),
        )
    return True if s.temporal_tls else None


async def connect(settings: Settings, *, lazy: bool = False) -> Client:
    """A Temporal client for `settings` (`lazy`: connect on first use, so a process can start
    while Temporal is still down)."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
        tls=tls_config(settings),
        api_key=settings.temporal_api_key.get_secret_value() or None,
        lazy=lazy,
    )
