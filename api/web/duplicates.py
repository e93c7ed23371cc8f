"""可能的重复件 Possible repeats of a complaint (R-45): open cases of the same center against
the same unit, ranked by how much of their facts the new complaint shares.

The ranking is plain and explainable: Chinese has no spaces, so texts are compared as sets of
character bigrams (plus ASCII words and numbers, e.g. window numbers and dates), weighted by
how rare each bigram is among the candidates (idf), and scored by weighted overlap divided by
the smaller text's weight (a short repeat phone call that retells part of a long written
complaint still scores high). The measured precision is in tests/api/web/test_duplicates.py.

Only non-personal columns leave this module (number, summary, status, dates, the score): the
facts are read to be compared, never shown.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

#: Open cases compared at most (the newest); bounded work per keystroke.
MAX_CANDIDATES = 400
#: Characters of a stored case's facts compared (the beginning tells the incident).
MAX_FACTS = 2000
#: Suggestions shown.
TOP = 5
#: Below this score a case is not suggested.
MIN_SCORE = 0.12

_WORD = re.compile(r"[a-z0-9]+")
#: Dates (11月7日, 11月7号, 11/7, 11-7) and numbered places (7号窗口, 3楼): what tells one
#: incident from another at the same unit.
_DATE = re.compile(r"(\d{1,2})\s*(?:月|/|-|\.)\s*(\d{1,2})\s*(?:日|号)?")
_PLACE = re.compile(r"(\d{1,3})\s*(号窗口|号窗|窗口|号台|楼|层|室)")
_HAN = re.compile(r"[\u3400-\u9fff]+")

#: Words every complaint uses: they say nothing about which incident it is.
_STOP = frozenset(
    "投诉 工作 人员 工作人员 窗口 办理 我们 他们 没有 一个 这个 要求 反映 情况 时候 已经 "
    "因为 所以 但是 还是 就是 什么 自己 表示 进行 我的".split()
)


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def features(text: str) -> Counter[str]:
    """Character bigrams of each run of Chinese characters, and ASCII words/numbers."""
    t = normalize(text)
    out: Counter[str] = Counter()
    for run in _HAN.findall(t):
        for i in range(len(run) - 1):
            g = run[i:i + 2]
            if g not in _STOP:
                out[g] += 1
    for w in _WORD.findall(t):
        out["#" + w] += 1
    for m, d in _DATE.findall(t):
        out[f"@date{int(m)}-{int(d)}"] += 3
    for n, kind in _PLACE.findall(t):
        out[f"@{'win' if '窗' in kind or '台' in kind else kind}{int(n)}"] += 3
    return out


@functools.lru_cache(maxsize=4096)
def _feature_set(text: str) -> frozenset[str]:
    """The features of a stored case's facts (they do not change): cached between keystrokes."""
    return frozenset(features(text))


@dataclass(frozen=True)
class Candidate:
    number: str
    facts: str
    summary: str = ""
    status: str = ""
    registered_at: datetime | None = None


@dataclass(frozen=True)
class Suggestion:
    number: str
    summary: str
    status: str
    registered_at: datetime | None
    score: float


def rank(text: str, candidates: Sequence[Candidate], *, top: int = TOP,
         min_score: float = MIN_SCORE) -> list[Suggestion]:
    """The candidates most like `text`, best first."""
    q = set(features(text))
    if not q or not candidates:
        return []
    feats = [_feature_set(c.facts) for c in candidates]
    df: Counter[str] = Counter()
    for f in feats:
        df.update(f)
    n = len(candidates)

    def idf(g: str) -> float:
        return math.log((n + 1) / (df.get(g, 0) + 0.5))

    q_weight = sum(idf(g) for g in q)
    scored: list[Suggestion] = []
    for c, f in zip(candidates, feats, strict=True):
        if not f:
            continue
        shared = sum(idf(g) for g in q & f)
        c_weight = sum(idf(g) for g in f)
        score = shared / max(min(q_weight, c_weight), 1e-9)
        if score >= min_score:
            scored.append(Suggestion(c.number, c.summary, c.status, c.registered_at,
                                     round(min(score, 1.0), 3)))
    scored.sort(key=lambda s: (-s.score, s.number))
    return scored[:top]


SELECT_CANDIDATES = f"""
SELECT number, left(facts, {MAX_FACTS}) AS facts, summary, status, registered_at FROM complaints
WHERE center = $1 AND respondent_unit = $2 AND status <> 'archived' AND number <> $3
ORDER BY registered_at DESC
LIMIT {MAX_CANDIDATES}
"""


async def suggest(pool: asyncpg.Pool, *, center: str, unit: str, facts: str,
                  exclude: str = "") -> list[Suggestion]:
    """Open cases of `center` against `unit` whose facts are like `facts`."""
    if not unit or not facts.strip():
        return []
    rows = await pool.fetch(SELECT_CANDIDATES, center, unit, exclude)
    return rank(facts, [Candidate(r["number"], r["facts"], r["summary"], r["status"],
                                  r["registered_at"]) for r in rows])
