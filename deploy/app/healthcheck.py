"""Container health checks for the application image: `python healthcheck.py api|worker`.

- `api`: `GET /healthz` on the local uvicorn answers 200 (liveness; load balancers should use
  `/readyz`, which also checks Temporal and PostgreSQL).
- `worker`: this container's worker is polling the task queue: Temporal lists a poller whose
  identity is the SDK default `<pid>@<hostname>` with this container's hostname (the server
  remembers pollers for a few minutes, so a worker whose slots are all busy stays healthy).

Exit code 0 = healthy, 1 = unhealthy (the reason on stderr). Settings as the app reads them.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import urllib.request
from datetime import timedelta

TIMEOUT_SECONDS = 5.0


def check_api() -> str | None:
    from config import get_settings

    url = f"http://127.0.0.1:{get_settings().api_port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as r:
            return None if r.status == 200 else f"/healthz answered {r.status}"
    except OSError as e:
        return f"/healthz unreachable: {e}"


async def _worker_pollers() -> set[str]:
    from temporalio.api.enums.v1 import TaskQueueType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

    from config import get_settings
    from temporal_client import connect  # as the worker connects: TLS, client certificate, API key

    s = get_settings()
    client = await connect(s)
    identities: set[str] = set()
    for kind in (TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY):
        resp = await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=s.temporal_namespace,
                task_queue=TaskQueue(name=s.task_queue),
                task_queue_type=kind,
            ),
            timeout=timedelta(seconds=TIMEOUT_SECONDS),
        )
        identities.update(p.identity for p in resp.pollers)
    return identities


def check_worker() -> str | None:
    suffix = "@" + socket.gethostname()
    try:
        identities = asyncio.run(asyncio.wait_for(_worker_pollers(), 3 * TIMEOUT_SECONDS))
    except Exception as e:  # any failure to ask Temporal means we cannot say we are polling
        return f"cannot describe the task queue: {type(e).__name__}: {e}"
    if any(i.endswith(suffix) for i in identities):
        return None
    return f"no poller from this container ({suffix}) on the task queue"


def main(argv: list[str]) -> int:
    checks = {"api": check_api, "worker": check_worker}
    if len(argv) != 2 or argv[1] not in checks:
        print(f"usage: {argv[0]} api|worker", file=sys.stderr)
        return 2
    problem = checks[argv[1]]()
    if problem:
        print(f"unhealthy: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    code = main(sys.argv)
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter finalisation: the Temporal SDK's native runtime can crash while it is torn
    # down at exit (seen as a segfault, exit 139), which Docker would count as a failed check.
    os._exit(code)
