"""The personal-data guard (R-32, R-33): finds personal data in free text, to refuse it in what
staff write and to redact it in what the complainant writes, before any text enters a workflow
or reaches a handling unit or the public.

Pure (no I/O). What it finds:

- phone numbers, mobile and landline, in any common format (spaces, dashes, dots, +86/0086,
  parentheses, full-width digits, 幺三八… spelt out), by Google's libphonenumber (`phonenumbers`);
  a local number without area code only next to a word like 电话 or 拨打; service numbers
  (400/800, 95xxx, 12345) are not personal;
- e-mail addresses, also written `name(at)qq.com` or `name#163.com`;
- mainland resident ID numbers: 18 characters whose check digit, birth date and county code are
  valid (`stdnum.cn.ric`): a random 18-digit number is not one;
- bank-card numbers: 16 to 19 digits, grouped or not, passing the Luhn check (`stdnum.luhn`);
- QQ and WeChat accounts written as such (`QQ：12345678`);
- a person's name where the text says it is one (`我是…`, `投诉人…`, `…同志：您好`);
- the complainant's and any agent's own name, phone, e-mail, address and ID number from the
  intake record (`Identity`), wherever they appear, also spaced out (`张 三 丰`).

A number right after a word saying what else it is (订单号, 流水号, 案号, 文号…) is not taken for a
phone or card; the complainant's own numbers are found there too.

The detectors of each kind are in domain/pii_detect.py; this module adds the intake record's own
data and gives the guard's answers (`find`, `redact`, `problems`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from domain.pii_detect import (
    PLACEHOLDER,
    Hit,
    Kind,
    Spans,
    find_names,
    find_numbers,
    normalise,
    only_digits,
)
from domain.pii_detect import is_resident_id as is_resident_id


@dataclass(frozen=True, slots=True)
class Identity:
    """The complainant's and agent's own data from the intake record, to be found anywhere."""

    names: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()
    id_numbers: tuple[str, ...] = ()

    @classmethod
    def of(cls, complainant: Mapping[str, Any] | None) -> Identity:
        """From the intake record's complainant (`name`, `phone`, `email`, `address`,
        `id_number`, `agent` {`name`, `phone`}), as stored in `complainants`."""
        if not complainant:
            return cls()
        agent = complainant.get("agent") or {}

        def values(*items: Any) -> tuple[str, ...]:
            return tuple(str(v).strip() for v in items if v and str(v).strip())

        return cls(
            names=values(complainant.get("name"), agent.get("name")),
            phones=values(complainant.get("phone"), agent.get("phone")),
            emails=values(complainant.get("email")),
            addresses=values(complainant.get("address")),
            id_numbers=values(complainant.get("id_number")),
        )


# --- the intake record's own data ------------------------------------------------------------

_GAP = r"[\s·•・._\-()（）]*"
_ADDRESS_DETAIL = re.compile(
    r"[^\s，,。；;0-9省市区县镇乡]{1,8}(?:路|街|道|巷|弄|里|村|小区|花园|公寓|大厦|家园|苑|新村)"
    r"\d+\s*(?:号|弄|栋|幢)"
)
_ADMIN = re.compile(r".*?(?:省|自治区|市|区|县|旗|镇|乡|街道)")


def _spaced(value: str) -> str:
    """A pattern for `value` that also finds it spaced out or with separators."""
    return _GAP.join(re.escape(c) for c in value)


def _address_fragments(address: str) -> set[str]:
    """The parts of an address that identify a home: the whole, what follows the last
    administrative division, and each road-and-number part."""
    address = re.sub(r"\s+", "", normalise(address))
    fragments = {address} if len(address) >= 4 else set()
    tail = address
    while (m := _ADMIN.match(tail)) and m.end() < len(tail):
        tail = tail[m.end():]
    if len(tail) >= 5 and re.search(r"\d|号|室|栋|幢|单元", tail):
        fragments.add(tail)
    for m in _ADDRESS_DETAIL.finditer(address):
        if len(m.group()) >= 5:
            fragments.add(m.group())
    return fragments


def _own_patterns(identity: Identity) -> list[tuple[Kind, re.Pattern[str]]]:
    patterns: list[tuple[Kind, re.Pattern[str]]] = []
    for name in identity.names:
        name = re.sub(r"\s+", "", normalise(name))
        if len(name) >= 2:
            patterns.append((Kind.NAME, re.compile(_spaced(name), re.IGNORECASE)))
    for phone in identity.phones:
        digits = only_digits(normalise(phone))
        if digits.startswith("0086"):
            digits = digits[4:]
        elif digits.startswith("86") and len(digits) > 11:
            digits = digits[2:]
        cores = {digits}
        if digits.startswith("0") and len(digits) >= 10:  # a landline: its local number alone too
            cores.add(digits[3:] if digits[1] in "12" else digits[4:])
        for core in cores:
            if len(core) >= 7:
                patterns.append((Kind.PHONE, re.compile(
                    rf"(?<![0-9]){_spaced(core)}(?![0-9])")))
    for email in identity.emails:
        if len(email) >= 5:
            patterns.append((Kind.EMAIL, re.compile(re.escape(normalise(email)), re.IGNORECASE)))
    for id_number in identity.id_numbers:
        value = re.sub(r"[\s-]", "", normalise(id_number))
        if len(value) >= 6:
            patterns.append((Kind.ID_NUMBER, re.compile(
                rf"(?<![0-9A-Za-z]){_spaced(value)}(?![0-9A-Za-z])", re.IGNORECASE)))
    for address in identity.addresses:
        for fragment in sorted(_address_fragments(address), key=len, reverse=True):
            patterns.append((Kind.ADDRESS, re.compile(_spaced(fragment), re.IGNORECASE)))
    return patterns


def _own(text: str, identity: Identity) -> list[Hit]:
    return [Hit(kind, m.start(), m.end(), own=True)
            for kind, pattern in _own_patterns(identity) for m in pattern.finditer(text)
            if m.end() > m.start()]


# --- the guard -------------------------------------------------------------------------------


def find(text: str, identity: Identity | None = None) -> list[Hit]:
    """The personal data in `text`, in order, without overlaps (the record's own data first,
    then ID numbers, cards, phones, e-mail, accounts, names)."""
    if not text:
        return []
    norm = normalise(text)
    chosen = Spans(len(norm))
    for hit in [*(_own(norm, identity) if identity else []), *find_numbers(norm), *find_names(norm)]:
        chosen.add(hit)
    return sorted(chosen.hits, key=lambda h: h.start)


def redact(text: str, identity: Identity | None = None) -> str:
    """`text` with each piece of personal data replaced by its placeholder (`[电话]`, `[姓名]`…)."""
    hits = find(text, identity)
    for h in reversed(hits):
        text = text[:h.start] + PLACEHOLDER[h.kind] + text[h.end:]
    return text


def describe(hits: Iterable[Hit]) -> str:
    """What was found, for a refusal: kinds only, never the values."""
    seen: list[str] = []
    for h in hits:
        if h.describe() not in seen:
            seen.append(h.describe())
    return ", ".join(seen)


def problems(
    texts: Mapping[str, str], identity: Identity | None = None, *, location: str = "body"
) -> list[dict[str, Any]]:
    """One 422 entry per field whose text holds personal data, naming the field and the kinds
    found (R-32, R-33)."""
    out: list[dict[str, Any]] = []
    for field, text in texts.items():
        hits = find(text, identity) if isinstance(text, str) else []
        if hits:
            out.append({
                "field": field, "location": location, "type": "personal_data",
                "kinds": sorted({h.kind.value for h in hits}),
                "message": f"must not contain personal data (R-32, R-33): found {describe(hits)}; "
                "write it without, the complainant's data stay in the case file",
            })
    return out


def text_fields(data: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """The free-text values of a body, by field path (`reason`, `measures.0`): strings and
    lists of strings, nested objects followed."""
    out: dict[str, str] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, str):
            if not isinstance(value, StrEnum) and value:
                out[path] = value
        elif isinstance(value, Mapping):
            out.update(text_fields(value, f"{path}."))
        elif isinstance(value, list | tuple):
            for i, item in enumerate(value):
                if isinstance(item, str) and not isinstance(item, StrEnum) and item:
                    out[f"{path}.{i}"] = item
                elif isinstance(item, Mapping):
                    out.update(text_fields(item, f"{path}.{i}."))
    return out
