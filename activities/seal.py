"""Seals of the chain heads: RFC 3161 trusted timestamps (可信时间戳) of the archive and the
access log, made on a Temporal Schedule (issue 13, R-35).

A database superuser can rewrite an archive row and recompute its hashes, and then every row
after it: the chain in PostgreSQL alone proves nothing against them. A seal is evidence kept
outside their reach. Every round (`SealWorkflow`, workflows/seal.py, on the `chain-seals`
schedule of scripts/schedules.py) the `seal_chain_heads` activity writes one *message*:

    {"format": "complaints.seal/1",
     "prev_seal": {"id", "message_sha256"} | null,          # the seals form a chain too
     "archives": {"after": id of the previous seal's head,
                  "entries": [[id, number, sha256], ...],    # every archive appended since
                  "head": {"id", "sha256"} | null},
     "access_log": {"id", "sha256"} | null}                  # the access log's chain head

and asks a timestamping authority (`settings.tsa_url`, RFC 3161 over HTTP) to sign
SHA-256(message) with the time. The message and the authority's DER `TimeStampResp` are kept in
`archive_seals` and copied out to `settings.seal_dir` (`seal-NNNNNNNN.json`, and the raw token
as `.tsr` for `openssl ts -verify`), where a later check reads them even if PostgreSQL lies.
A round with nothing new to seal makes no seal; a round with more than `MAX_ENTRIES` new
archives seals the first ones and the next round goes on.

Verification (activities/seal_check.py: `load_seals`, `check_token`) checks each
token's signature against the authority's certificates (`settings.tsa_roots_file`, PEM), that
it covers the message, that the seals link up, and that the copies out of PostgreSQL agree with
the rows in it; it then gives every archive's sealed hash by chain position.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import os
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from temporalio import activity

from activities.archive_format import canonical_json
from domain.base import Model

if TYPE_CHECKING:
    import asyncpg

    from config import Settings
    from db import Connection

log = logging.getLogger("complaints.seal")

FORMAT = "complaints.seal/1"
#: Archives listed in one seal at most (a backlog is sealed over several rounds).
MAX_ENTRIES = 5000
#: Serializes seal rounds ("seal" in ASCII): two rounds at once would seal the same archives.
SEAL_LOCK = "SELECT pg_advisory_xact_lock(x'7365616c'::bigint)"
TSA_TIMEOUT_SECONDS = 30.0

SELECT_LAST_SEAL = """
SELECT id, archive_id, archive_sha256, access_log_id, message_sha256
FROM archive_seals ORDER BY id DESC LIMIT 1
"""
SELECT_NEW_ARCHIVES = """
SELECT id, number, sha256 FROM archives WHERE id > $1 ORDER BY id LIMIT $2
"""
SELECT_ACCESS_HEAD = "SELECT id, sha256 FROM access_log ORDER BY id DESC LIMIT 1"
INSERT_SEAL = """
INSERT INTO archive_seals (archive_id, archive_sha256, access_log_id, access_log_sha256,
                           message, message_sha256, token, tsa_url)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
RETURNING id, sealed_at
"""
SELECT_SEAL = """
SELECT id, sealed_at, archive_id, archive_sha256, access_log_id, access_log_sha256, message,
       message_sha256, token, tsa_url
FROM archive_seals WHERE id = $1
"""
SELECT_RECENT_SEAL_IDS = "SELECT id FROM archive_seals ORDER BY id DESC LIMIT $1"


class SealResult(Model):
    """What a seal round did: `sealed` false when there was nothing new (or no authority)."""

    sealed: bool
    seal_id: int | None = None
    archive_id: int | None = None
    archive_sha256: str | None = None
    access_log_id: int | None = None
    access_log_sha256: str | None = None
    message_sha256: str | None = None
    reason: str | None = None


# ------------------------------------------------------------------ making a seal


def sha256_bytes_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def seal_message(conn: Connection) -> dict[str, Any] | None:
    """The message the next seal signs, or None when nothing is new since the last seal."""
    last = await conn.fetchrow(SELECT_LAST_SEAL)
    after = int(last["archive_id"] or 0) if last is not None else 0
    rows = await conn.fetch(SELECT_NEW_ARCHIVES, after, MAX_ENTRIES)
    entries = [[r["id"], r["number"], r["sha256"]] for r in rows]
    access = await conn.fetchrow(SELECT_ACCESS_HEAD)
    access_head = {"id": access["id"], "sha256": access["sha256"]} if access is not None else None
    if entries:
        head: dict[str, Any] | None = {"id": entries[-1][0], "sha256": entries[-1][2]}
    elif last is not None and last["archive_id"] is not None:
        head = {"id": last["archive_id"], "sha256": last["archive_sha256"]}
    else:
        head = None
    sealed_access = last["access_log_id"] if last is not None else None
    if not entries and (access_head is None or access_head["id"] == sealed_access):
        return None
    return {
        "format": FORMAT,
        "prev_seal": (
            {"id": last["id"], "message_sha256": last["message_sha256"]} if last is not None else None
        ),
        "archives": {"after": after, "entries": entries, "head": head},
        "access_log": access_head,
    }


async def request_timestamp(tsa_url: str, message: bytes) -> bytes:
    """Ask the authority at `tsa_url` for an RFC 3161 timestamp of SHA-256(`message`).

    Returns:
        The DER `TimeStampResp` (status granted, nonce and imprint checked).

    Raises:
        RuntimeError: the authority refused, or answered something else.
    """
    import httpx
    from rfc3161_client import (
        HashAlgorithm,
        PKIStatus,
        TimestampRequestBuilder,
        decode_timestamp_response,
    )

    request = (
        TimestampRequestBuilder()
        .data(message)
        .hash_algorithm(HashAlgorithm.SHA256)
        .nonce(nonce=True)
        .cert_request(cert_request=True)
        .build()
    )
    async with httpx.AsyncClient(timeout=TSA_TIMEOUT_SECONDS) as http:
        answer = await http.post(
            tsa_url,
            content=request.as_bytes(),
            headers={"Content-Type": "application/timestamp-query"},
        )
    if answer.status_code != 200:
        raise RuntimeError(f"timestamping authority answered HTTP {answer.status_code}")
    response = decode_timestamp_response(answer.content)
    if response.status not in (PKIStatus.GRANTED, PKIStatus.GRANTED_WITH_MODS):
        raise RuntimeError(
            f"timestamping authority refused: status {response.status} {response.status_string}"
        )
    info = response.tst_info
    if info.nonce != request.nonce:
        raise RuntimeError("timestamp nonce differs from the request's")
    if info.message_imprint.message != hashlib.sha256(message).digest():
        raise RuntimeError("timestamp covers another message")
    return response.as_bytes()


def seal_file(seal_dir: Path, seal_id: int) -> Path:
    return seal_dir / f"seal-{seal_id:08d}.json"


def write_copy(seal_dir: Path, seal: dict[str, Any]) -> Path:
    """Copy one seal out of PostgreSQL: the JSON record and the raw token (`.tsr`), each
    written to a temporary name and renamed, so a reader never sees half a file."""
    seal_dir.mkdir(parents=True, exist_ok=True)
    path = seal_file(seal_dir, seal["id"])
    record = {
        "id": seal["id"],
        "sealed_at": seal["sealed_at"].isoformat()
        if isinstance(seal["sealed_at"], datetime)
        else seal["sealed_at"],
        "tsa_url": seal["tsa_url"],
        "message": seal["message"],
        "message_sha256": seal["message_sha256"],
        "token": base64.b64encode(bytes(seal["token"])).decode("ascii"),
    }
    for target, data in (
        (path.with_suffix(".tsr"), bytes(seal["token"])),
        (path, json.dumps(record, ensure_ascii=False, indent=1).encode()),
    ):
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)
    return path


#: Seals looked at for a missing copy each round: the newest ones (a copy that failed is made
#: by the next rounds; the cost of a round does not grow with the years of seals).
EXPORT_WINDOW = 1000


async def export_seals(pool: asyncpg.Pool, seal_dir: Path) -> int:
    """Copy the newest seals not yet in `seal_dir` (a copy that failed before is made now)."""
    copied = 0
    ids = [r["id"] for r in await pool.fetch(SELECT_RECENT_SEAL_IDS, EXPORT_WINDOW)]
    for seal_id in ids:
        if not seal_file(seal_dir, seal_id).exists():
            row = await pool.fetchrow(SELECT_SEAL, seal_id)
            await asyncio.to_thread(write_copy, seal_dir, dict(row))
            copied += 1
    return copied


async def seal(pool: asyncpg.Pool, tsa_url: str, seal_dir: Path | None) -> SealResult:
    """One seal round: the message, its timestamp, the row, the copy out (see the module)."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(SEAL_LOCK)
        message = await seal_message(conn)
        if message is None:
            result = SealResult(sealed=False, reason="nothing new since the last seal")
        else:
            text = canonical_json(message)
            token = await request_timestamp(tsa_url, text.encode("utf-8"))
            head = message["archives"]["head"] or {}
            access = message["access_log"] or {}
            digest = sha256_bytes_hex(text.encode("utf-8"))
            row = await conn.fetchrow(
                INSERT_SEAL,
                head.get("id"),
                head.get("sha256"),
                access.get("id"),
                access.get("sha256"),
                text,
                digest,
                token,
                tsa_url,
            )
            result = SealResult(
                sealed=True,
                seal_id=row["id"],
                archive_id=head.get("id"),
                archive_sha256=head.get("sha256"),
                access_log_id=access.get("id"),
                access_log_sha256=access.get("sha256"),
                message_sha256=digest,
            )
    if seal_dir is not None:
        await export_seals(pool, seal_dir)
    return result


class SealActivities:
    """The `seal_chain_heads` activity; without a pool or an authority it seals nothing."""

    def __init__(self, pool: asyncpg.Pool | None = None, settings: Settings | None = None) -> None:
        self.pool = pool
        self.settings = settings

    @activity.defn(name="seal_chain_heads")
    async def seal_chain_heads(self) -> SealResult:
        """Timestamp the archive's and the access log's chain heads (see the module)."""
        if self.settings is None:
            from config import get_settings

            self.settings = get_settings()
        tsa_url = self.settings.tsa_url
        if self.pool is None or not tsa_url:
            log.warning("seal: no %s; nothing sealed", "database" if self.pool is None else "tsa_url")
            return SealResult(sealed=False, reason="no database or no timestamping authority")
        result = await seal(self.pool, tsa_url, self.settings.seal_dir)
        log.info("seal: %s", result.model_dump_json())
        return result
