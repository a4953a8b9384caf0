"""A worker process for the job lease tests: it runs the job ``hold``, which says so in the
store and then never ends, so the test can kill the process mid-job, as a crash would.

Run as ``python -m tests.integration.lease_holder URL LEASE_MS``.
"""

import asyncio
import subprocess
import sys
from datetime import timedelta
from typing import Any

from arq import func

from notifier.job_lease import LeasedWorker
from tocsin.store import connect

QUEUE = "tocsin:test:leases"
HOLDING = "tocsin:test:holding"
"""Set by the job once it runs here."""


def start(url: str, lease: timedelta) -> subprocess.Popen[bytes]:
    """In its own process group, as ``tocsin`` processes in the end-to-end tests."""
    lease_ms = str(round(lease.total_seconds() * 1000))
    return subprocess.Popen(
        [sys.executable, "-m", "tests.integration.lease_holder", url, lease_ms],
        start_new_session=True,
    )


async def hold(ctx: dict[str, Any]) -> None:
    await ctx["redis"].set(HOLDING, ctx["job_id"])
    await asyncio.Event().wait()


async def main(url: str, lease: timedelta) -> None:
    pool = connect(url)
    worker = LeasedWorker(
        [func(hold, name="hold")],
        queue_name=QUEUE,
        redis_pool=pool,
        handle_signals=False,
        poll_delay=0.02,
        lease=lease,
    )
    await worker.main()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], timedelta(milliseconds=int(sys.argv[2]))))
