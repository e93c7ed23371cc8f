"""What the personal-data guard costs per text (issue 13), against a same-run baseline: the
pydantic validation of an action input carrying the same text, which every action pays anyway.

    .venv/bin/python -m bench.personal_data [--rounds 20]

Texts: the labelled sentences of tests/data/personal_data_sentences.jsonl, with the intake
record those sentences were written against. Prints microseconds per text for both and the
ratio guard / baseline.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from domain import personal_data as pd
from domain.actions import RecordInvestigationInput
from domain.base import Actor
from domain.codes import InvestigationKind, Role

SENTENCES = Path(__file__).parents[1] / "tests" / "data" / "personal_data_sentences.jsonl"
IDENTITY = pd.Identity.of({
    "name": "张三丰", "phone": "13800138000", "address": "杭州市西湖区文三路100号3幢501室",
    "id_number": "33010619851212002X", "email": "zhangsf@example.com",
    "agent": {"name": "王五", "phone": "0571-87654321"},
})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    texts = [json.loads(line)["text"] for line in SENTENCES.read_text("utf-8").splitlines()]
    actor = Actor(id="handler-01", role=Role.HANDLER).model_dump()

    def baseline() -> None:
        for t in texts:
            RecordInvestigationInput.model_validate(
                {"kind": InvestigationKind.SITE_VISIT, "note": t, "actor": actor})

    def guard() -> None:
        for t in texts:
            pd.problems({"note": t}, IDENTITY)

    timings: dict[str, float] = {}
    for name, run in (("baseline", baseline), ("guard", guard)):
        run()  # warm up (compiled patterns, libphonenumber metadata)
        best = float("inf")
        for _ in range(args.rounds):
            start = time.perf_counter()
            run()
            best = min(best, time.perf_counter() - start)
        timings[name] = best / len(texts) * 1e6
    print(f"texts: {len(texts)}, best of {args.rounds} rounds")
    print(f"baseline (action input validation): {timings['baseline']:.1f} µs/text")
    print(f"guard (find + problems, with the intake record): {timings['guard']:.1f} µs/text")
    print(f"ratio guard / baseline: {timings['guard'] / timings['baseline']:.1f}")


if __name__ == "__main__":
    main()
