"""Evidence types are read from the content (magic bytes, zip and OLE directories), not the name."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from pathlib import Path

import pytest

from api.evidence.files import EvidenceStore, Refused, check_claims, extension_of, sniff
from tests.api.evidence import samples


@pytest.mark.parametrize(
    ("make", "kind"),
    [
        (samples.png, "png"), (samples.jpeg, "jpeg"), (samples.gif, "gif"),
        (samples.webp, "webp"), (samples.wav, "wav"), (samples.pdf, "pdf"),
        (samples.mp3_id3, "mp3"), (samples.mp3_frame, "mp3"), (samples.m4a, "m4a"),
        (samples.mp4, "mp4"), (samples.docx, "docx"), (samples.xlsx, "xlsx"),
        (samples.doc, "doc"), (samples.xls, "xls"),
    ],
)
def test_sniff_knows_each_accepted_type(
    tmp_path: Path, make: Callable[[], bytes], kind: str
) -> None:
    data = make()
    path = tmp_path / "f"
    path.write_bytes(data)
    t = sniff(data[:64], path)
    assert t is not None and t.kind == kind


@pytest.mark.parametrize(
    "make", [samples.exe, samples.html_page, samples.plain_zip, samples.heic,
             lambda: b"just some text\n" * 10, lambda: b"\xff\xf1\x50\x80" + bytes(60)],
)
def test_sniff_refuses_anything_else(tmp_path: Path, make: Callable[[], bytes]) -> None:
    data = make()
    path = tmp_path / "f"
    path.write_bytes(data)
    assert sniff(data[:64], path) is None


def test_a_name_or_declared_type_naming_another_type_is_a_mismatch(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(samples.png())
    t = sniff(samples.png()[:64], path)
    assert t is not None
    check_claims(t, "现场照片.PNG", "image/png")
    check_claims(t, "无扩展名", "application/octet-stream")
    check_claims(t, "photo.png", None)
    with pytest.raises(Refused) as e:
        check_claims(t, "report.pdf", "image/png")
    assert e.value.error.code == "file_type_mismatch" and ".pdf" in e.value.error.message
    with pytest.raises(Refused) as e:
        check_claims(t, "photo.png", "application/pdf")
    assert e.value.error.http_status == 415
    assert extension_of("C:\\照片\\a.b.JPEG") == "jpeg" and extension_of(".hidden") == ""


def test_store_ingests_by_sha256_and_refuses_oversize(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path)
    data = samples.pdf(5000)
    item = store.ingest(io.BytesIO(data), max_bytes=10_000, filename="a.pdf", declared=None)
    assert item.sha256 == hashlib.sha256(data).hexdigest() and item.size == 5000
    store.put(item)
    assert store.path(item.sha256).read_bytes() == data
    with pytest.raises(Refused) as e:
        store.ingest(io.BytesIO(samples.pdf(10_001)), max_bytes=10_000, filename="b.pdf",
                     declared=None)
    assert e.value.error.code == "file_too_large"
    with pytest.raises(Refused) as e:
        store.ingest(io.BytesIO(b""), max_bytes=10_000, filename="c.pdf", declared=None)
    assert e.value.error.code == "empty_file"
    assert list((tmp_path / "tmp").iterdir()) == []  # no temporary file left behind
