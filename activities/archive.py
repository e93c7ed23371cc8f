"""The archive (R-35): the whole case file, hashed and chained, kept unchanged.

A case file is one JSON document: the non-personal `CaseState`, the original complaint and the
complainant's personal data from PostgreSQL (the archive lives in PostgreSQL, where personal
data is allowed), every action record (from `case_events`: the state keeps only the last ones),
every outbox entry, the case record's capped lists in full (`record`, gathered from every
snapshot in the histories), and the workflow's Temporal history — of every run, when the case
continued as new: `history` is the last run's (where the archive activity ran), `previous_runs`
the ones before it, oldest first (`archived_runs` reads both layouts).
Its canonical text (`canonical_json`) is hashed with SHA-256; each row also records the hash of
the row archived before it (and the document includes it, so the hash covers the link), making
the archive a chain in which a changed or missing row shows. The database refuses UPDATE,
DELETE and TRUNCATE on `archives` (migration 0001).

Issue 13: the archive does not trust the database alone. `archive_case` answers the hash and
the chain position, so the case's Temporal history keeps them; a schedule seals the chain heads
with RFC 3161 trusted timestamps kept in `archive_seals` and copied out (activities/seal.py);
verification compares row, chain and both anchors (activities/archive_anchor.py) and names the
case that failed and why. The app role may only INSERT into `archives` (db.py).

Verification recomputes both hashes, checks the link to the previous row, replays every archived
run's Temporal history against the current `ComplaintWorkflow` code (`temporalio.worker.Replayer`;
a failure names the run), and checks that the archived case record is the one the last run's
history handed to the archive activity:
years later, an auditor can show that the file is untouched and that the recorded history is
exactly what the code does.

Modules: `archive_format` (SQL, canonical text, hash, layouts), `archive_build` (the case
file and the `archive_case` activity), `archive_verify` (verification and this CLI).

CLI:
    python -m activities.archive verify --all       every archive, in chain order
    python -m activities.archive verify NUMBER...   the named cases
    ... --no-replay                                 hashes, chain and anchors (fast)
`--all` also checks the access log's hash chain and the seals. Exit code 1 if anything fails.
"""

from __future__ import annotations

import os
import sys

from activities.archive_anchor import Anchors, check_access_log, history_receipt
from activities.archive_build import (
    ArchiveActivities,
    append,
    archive,
    complete_record,
    existing_result,
    fetch_history,
    fetch_runs,
    gather_file,
)
from activities.archive_format import (
    FORMAT,
    ArchivedRun,
    ArchiveReceipt,
    HistoryCheck,
    ReplayVerdict,
    archived_runs,
    canonical_json,
    jsonable,
    record,
    sha256_hex,
)
from activities.archive_verify import (
    check_row,
    history_case_ok,
    load_anchors,
    main,
    no_replay,
    replay_runs,
    summary,
    verify_all,
    verify_archive,
    verify_history,
)

__all__ = [
    "FORMAT", "Anchors", "ArchiveActivities", "ArchiveReceipt", "ArchivedRun", "check_access_log",
    "history_receipt", "load_anchors", "HistoryCheck", "ReplayVerdict", "append",
    "archive", "archived_runs", "canonical_json", "check_row", "complete_record",
    "existing_result", "fetch_history", "fetch_runs", "gather_file", "history_case_ok", "jsonable",
    "main", "no_replay", "record", "replay_runs", "sha256_hex", "summary", "verify_all",
    "verify_archive", "verify_history",
]

if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # The Temporal client's native threads can abort interpreter teardown (sdk-python#300),
    # which would turn the exit code into 134: nothing is left to clean up, leave now.
    os._exit(code)
