"""What the access log's hash chain costs (issue 13, migration 0010): concurrent inserts into
`access_log` (chained by its trigger: one advisory lock, the previous row read, a SHA-256) against
the same inserts into a plain copy of the table (`LIKE access_log`, no trigger), same server, same
run, alternating rounds.

    .venv/bin/python -m bench.access_log_chain [--writers 8] [--rows 300] [--rounds 3]

Prints each round's seconds and the median ratio chained / plain (throughput of logged reads).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import asyncpg

import db
from bench.stack import Postgres

INSERT = "INSERT INTO {table} (actor_id, actor_role, number, what) VALUES ($1, 'auditor', $2, 'archive')"


async def writers(url: str, table: str, n_writers: int, rows: int) -> float:
    pool = await asyncpg.create_pool(url, min_size=n_writers, max_size=n_writers)
    assert pool is not None
    sql = INSERT.format(table=table)

    async def one(w: int) -> None:
        async with pool.acquire() as conn:
            for i in range(rows):
                await conn.execute(sql, f"auditor-{w:02d}", f"TS-{i}")

    try:
        start = time.perf_counter()
        await asyncio.gather(*(one(w) for w in range(n_writers)))
        return time.perf_counter() - start
    finally:
        await pool.close()


async def main(n_writers: int, rows: int, rounds: int) -> None:
    pg = Postgres(Path(tempfile.mkdtemp(prefix="bench-acclog-")) / "pg").start()
    try:
        conn = await asyncpg.connect(pg.url)
        try:
            await db.migrate(conn)
            await conn.execute("CREATE TABLE access_log_plain (LIKE access_log INCLUDING DEFAULTS)")
            await conn.execute("ALTER TABLE access_log_plain ALTER COLUMN sha256 DROP NOT NULL")
        finally:
            await conn.close()
        await writers(pg.url, "access_log_plain", n_writers, 20)  # warm-up
        plain: list[float] = []
        chained: list[float] = []
        for r in range(rounds):
            plain.append(await writers(pg.url, "access_log_plain", n_writers, rows))
            chained.append(await writers(pg.url, "access_log", n_writers, rows))
            print(f"round {r + 1}: plain {plain[-1]:.2f} s, chained {chained[-1]:.2f} s "
                  f"({n_writers} writers x {rows} rows)")
        ratio = statistics.median(c / p for c, p in zip(chained, plain, strict=True))
        print(f"median time ratio chained / plain: {ratio:.2f}")
        from activities.archive_anchor import check_access_log

        pool = await asyncpg.create_pool(pg.url, min_size=1, max_size=1)
        assert pool is not None
        start = time.perf_counter()
        check = await check_access_log(pool)
        took = time.perf_counter() - start
        await pool.close()
        print(f"chain after the run: {check['rows']} rows, ok={check['ok']}, "
              f"verified in {took:.2f} s")
    finally:
        pg.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--rows", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.writers, args.rows, args.rounds))
