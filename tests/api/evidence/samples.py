"""Small files of every accepted type (and some that are not), built from their magic bytes."""

from __future__ import annotations

import io
import zipfile


def _pad(head: bytes, size: int) -> bytes:
    return head + bytes(max(size - len(head), 0))


def png(size: int = 256) -> bytes:
    return _pad(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", size)


def jpeg(size: int = 256) -> bytes:
    return _pad(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", size)


def gif(size: int = 64) -> bytes:
    return _pad(b"GIF89a\x01\x00\x01\x00", size)


def webp(size: int = 64) -> bytes:
    return _pad(b"RIFF\x38\x00\x00\x00WEBPVP8 ", size)


def wav(size: int = 64) -> bytes:
    return _pad(b"RIFF\x24\x00\x00\x00WAVEfmt ", size)


def pdf(size: int = 128) -> bytes:
    return _pad(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", size)


def mp3_id3(size: int = 128) -> bytes:
    return _pad(b"ID3\x04\x00\x00\x00\x00\x00\x00", size)


def mp3_frame(size: int = 128) -> bytes:
    return _pad(b"\xff\xfb\x90\x64", size)  # MPEG-1 layer III, 128 kbit/s, 44.1 kHz


def m4a(size: int = 64) -> bytes:
    return _pad(b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00M4A isom", size)


def mp4(size: int = 64) -> bytes:
    return _pad(b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2", size)


def heic(size: int = 64) -> bytes:
    return _pad(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1", size)


def _zip(names: list[str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name in names:
            z.writestr(name, "<x/>")
    return buf.getvalue()


def docx() -> bytes:
    return _zip(["[Content_Types].xml", "_rels/.rels", "word/document.xml"])


def xlsx() -> bytes:
    return _zip(["[Content_Types].xml", "_rels/.rels", "xl/workbook.xml"])


def plain_zip() -> bytes:
    return _zip(["readme.txt"])


def _ole(stream: str, size: int = 2048) -> bytes:
    head = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1016)
    return _pad(head + stream.encode("utf-16-le"), size)


def doc() -> bytes:
    return _ole("WordDocument")


def xls() -> bytes:
    return _ole("Workbook")


def exe(size: int = 256) -> bytes:
    return _pad(b"MZ\x90\x00\x03\x00\x00\x00", size)


def html_page() -> bytes:
    return b"<!doctype html><html><script>alert(1)</script></html>"
