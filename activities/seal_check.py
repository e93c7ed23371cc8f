"""Checking the seals of activities/seal.py (issue 13, R-35): each RFC 3161 token's signature
against the authority's certificates (`settings.tsa_roots_file`, PEM), that it covers its
message, that the seals link up, and that the copies out of PostgreSQL (`settings.seal_dir`)
agree with the rows in it; then every archive's sealed hash by chain position. Used by
activities/archive_verify.py and activities/archive_anchor.py.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from activities.seal import SELECT_SEAL, seal_file, sha256_bytes_hex

if TYPE_CHECKING:
    import asyncpg

SELECT_COVERING_SEAL = """
SELECT id, sealed_at, archive_id, archive_sha256, access_log_id, access_log_sha256, message,
       message_sha256, token, tsa_url
FROM archive_seals WHERE archive_id >= $1 ORDER BY id LIMIT 1
"""

SELECT_SEALS = """
SELECT id, sealed_at, archive_id, archive_sha256, access_log_id, access_log_sha256, message,
       message_sha256, token, tsa_url
FROM archive_seals ORDER BY id
"""


def load_roots(path: Path | None) -> list[Any]:
    """The authority's certificates (PEM bundle): roots, intermediates and its own."""
    if path is None or not Path(path).is_file():
        return []
    from cryptography import x509

    return list(x509.load_pem_x509_certificates(Path(path).read_bytes()))


def check_token(
    token: bytes, message: bytes, certificates: list[Any]
) -> tuple[bool | None, str | None, str | None]:
    """Whether `token` is a valid RFC 3161 timestamp of `message`.

    Args:
        token: the DER `TimeStampResp`.
        message: the exact bytes that were sealed.
        certificates: the authority's certificates (self-signed ones are trusted roots).

    Returns:
        (ok, error, gen_time ISO): ok None when no certificates are configured (only the
        imprint was checked).
    """
    from rfc3161_client import VerificationError, VerifierBuilder, decode_timestamp_response

    try:
        response = decode_timestamp_response(token)
    except Exception as e:  # a corrupt token is a failed check, not a crash
        return False, f"unreadable token: {type(e).__name__}: {e}"[:500], None
    gen_time = response.tst_info.gen_time.isoformat()
    if response.tst_info.message_imprint.message != hashlib.sha256(message).digest():
        return False, "the token covers another message", gen_time
    if not certificates:
        return None, "signature not checked: no tsa_roots_file configured", gen_time
    builder = VerifierBuilder()
    for cert in certificates:
        if cert.issuer == cert.subject:
            builder = builder.add_root_certificate(cert)
        else:
            builder = builder.add_intermediate_certificate(cert)
    try:
        builder.build().verify_message(response, message)
    except (VerificationError, ValueError) as e:
        return False, f"signature: {e}"[:500], gen_time
    return True, None, gen_time


@dataclass
class SealIndex:
    """What the seals say, once checked: every sealed archive's hash by chain position, the
    sealed heads of the access log, and what was wrong with the seals themselves."""

    archives: dict[int, tuple[str, str, int, str | None]] = field(default_factory=dict)
    """archive id -> (number, sha256, seal id, gen_time)."""
    access_heads: list[tuple[int, str, int]] = field(default_factory=list)
    """(access_log id, sha256, seal id)."""
    seals: int = 0
    valid: int = 0
    problems: list[str] = field(default_factory=list)
    signature_checked: bool = False

    def summary(self) -> dict[str, Any]:
        return {
            "seals": self.seals,
            "valid": self.valid,
            "problems": self.problems[:50],
            "signature_checked": self.signature_checked,
            "ok": not self.problems,
        }


def _covering_copy(seal_dir: Path | None, archive_id: int) -> int | None:
    """The id of the copy in `seal_dir` whose seal lists `archive_id`: a binary search over the
    copies (seals list the archives in order), reading O(log n) of them."""
    if seal_dir is None or not Path(seal_dir).is_dir():
        return None
    names = sorted(p.name for p in Path(seal_dir).glob("seal-*.json"))
    lo, hi, found = 0, len(names), None
    while lo < hi:
        mid = (lo + hi) // 2
        try:
            record = json.loads((Path(seal_dir) / names[mid]).read_text(encoding="utf-8"))
            head = json.loads(record["message"])["archives"]["head"] or {}
            head_id = int(head.get("id") or 0)
            seal_id = int(record["id"])
        except (ValueError, KeyError, TypeError):
            return None  # an unreadable copy: `verify --all` reports it
        if head_id >= archive_id:
            found, hi = seal_id, mid
        else:
            lo = mid + 1
    return found


def _file_seals(seal_dir: Path | None, ids: list[int] | None = None) -> dict[int, dict[str, Any]]:
    """The copies in `seal_dir` (only those of `ids`, when given) by seal id."""
    found: dict[int, dict[str, Any]] = {}
    if seal_dir is None or not Path(seal_dir).is_dir():
        return found
    if ids is None:
        paths = sorted(Path(seal_dir).glob("seal-*.json"))
    else:
        paths = [p for p in (seal_file(Path(seal_dir), i) for i in ids) if p.exists()]
    for path in paths:
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            record["token"] = base64.b64decode(record["token"])
            found[int(record["id"])] = record
        except (ValueError, KeyError, TypeError):
            found[-len(found) - 1] = {"error": f"{path.name}: unreadable"}
    return found


async def load_seals(
    pool: asyncpg.Pool, seal_dir: Path | None, certificates: list[Any], *, covering: int | None = None
) -> SealIndex:
    """Every seal, from the copies in `seal_dir` and the rows of `archive_seals`, checked.

    A copy out of PostgreSQL wins over the row: a seal whose row is missing or differs from its
    copy is reported (someone rewrote `archive_seals`), and the copy is what counts.

    Args:
        covering: only the seal that lists this archive id (the first whose head is at or past
            it) and its copy, for one case's verification: the cost stays flat however many
            seals there are; the seals' links and copies without a row are then not checked
            (`verify --all` checks them).
    """
    if covering is None:
        rows = {r["id"]: dict(r) for r in await pool.fetch(SELECT_SEALS)}
        files = await asyncio.to_thread(_file_seals, seal_dir)
    else:
        rows = {r["id"]: dict(r) for r in await pool.fetch(SELECT_COVERING_SEAL, covering)}
        copy_id = await asyncio.to_thread(_covering_copy, seal_dir, covering)
        if copy_id is not None and copy_id not in rows:
            rows.update({r["id"]: dict(r) for r in await pool.fetch(SELECT_SEAL, copy_id)})
        ids = sorted({*rows, *([copy_id] if copy_id is not None else [])})
        files = await asyncio.to_thread(_file_seals, seal_dir, ids)
    index = SealIndex(signature_checked=bool(certificates))
    for key, record in files.items():
        if "error" in record:
            index.problems.append(f"seal copy {record['error']}")
            continue
        row = rows.get(key)
        if row is None:
            index.problems.append(f"seal {key}: in {seal_dir} but missing from PostgreSQL")
        elif row["message"] != record["message"] or bytes(row["token"]) != record["token"]:
            index.problems.append(f"seal {key}: the row in PostgreSQL differs from its copy")
    merged = {**rows, **{k: v for k, v in files.items() if "error" not in v}}
    prev: tuple[int, str] | None = None
    for seal_id in sorted(merged):
        record = merged[seal_id]
        index.seals += 1
        message_text: str = record["message"]
        ok, error, gen_time = check_token(bytes(record["token"]), message_text.encode("utf-8"), certificates)
        if ok is False:
            index.problems.append(f"seal {seal_id}: {error}")
            continue
        try:
            message = json.loads(message_text)
        except ValueError:
            index.problems.append(f"seal {seal_id}: message is not JSON")
            continue
        link = message.get("prev_seal")
        expected = None if prev is None else {"id": prev[0], "message_sha256": prev[1]}
        if covering is None and link != expected:
            index.problems.append(f"seal {seal_id}: links to {link}, expected {expected} (a seal is missing)")
        prev = (seal_id, sha256_bytes_hex(message_text.encode("utf-8")))
        index.valid += 1
        for entry in message.get("archives", {}).get("entries", []):
            archive_id, number, digest = entry
            index.archives[int(archive_id)] = (number, digest, seal_id, gen_time)
        access = message.get("access_log")
        if isinstance(access, dict):
            index.access_heads.append((int(access["id"]), access["sha256"], seal_id))
    return index


def check_sealed(
    index: SealIndex | None, row_id: int, number: str, sha256: str
) -> tuple[bool | None, str | None]:
    """Compare an archive row with its seal: (None, None) when no seal covers it yet."""
    if index is None or row_id not in index.archives:
        return None, None
    sealed_number, sealed_hash, seal_id, gen_time = index.archives[row_id]
    if sealed_number != number:
        return False, (
            f"chain position {row_id} was sealed as case {sealed_number} by seal {seal_id} ({gen_time})"
        )
    if sealed_hash != sha256:
        return False, (
            f"sha256 differs from the one sealed by seal {seal_id} at {gen_time} "
            f"(sealed {sealed_hash[:16]}…, stored {sha256[:16]}…)"
        )
    return True, None
