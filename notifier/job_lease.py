"""A short lease on the timer jobs a worker runs, renewed while they run, so that the jobs of
a worker that died run again on another within seconds.

arq marks a running job with its in-progress key, and no worker starts a job while its key
exists. arq sets the key when the job starts, for the longest the job may run plus 10 s,
and deletes it when the job ends. A worker killed mid-job (SIGKILL, out of memory, its host
lost) deletes nothing, so the job waited for the key to run out: with our ``JOB_TIMEOUT``,
an escalation 45 s late. Here the key is set for ``LEASE`` only, and the worker renews the
keys of the jobs it is running every third of it, one round trip for all of them: a live
worker keeps its jobs however long they take, a dead one's are free within ``LEASE`` and a
poll.

arq 0.28 offers no hook for this, so the subclass leans on as little of it as it can, and
replaces nothing: the lease it sets in ``start_jobs`` (the ``in_progress_timeout_s``
attribute), the jobs it runs (``tasks``: by job id, each task from the job's start until
arq has recorded its end and deleted the key), ``run_job``, wrapped to start the renewal
with the first job, and ``start_jobs``, wrapped so that a worker never starts a job it
is still running.

The key names no owner (arq writes ``1``), and renewing never creates one (``PEXPIRE`` of a
missing key does nothing). A worker cut off from the store for longer than ``LEASE`` loses
its jobs, and another worker may run one while the first still does (the first then renews
the other's key until its own run ends). Two runs of a job are safe: each delivery is taken
before it is sent and recorded once made (``deliveries``), every other effect is claimed
once, so the later run sends only what the first did not. A delivery the dead worker was
sending stays taken for its own hold, ``deliveries.SENDING_LEASE``: it may still arrive.
"""

import asyncio
import logging
from collections.abc import Collection
from datetime import timedelta
from typing import Any

from arq import Worker
from arq.constants import in_progress_key_prefix

from ingest.consuming import store_outage

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=5)
"""How long a running job stays its worker's without a renewal: the longest a job whose
worker died waits for another (and a poll). Long enough that a store slow to answer (each
command gives up after 2 s) or a busy worker misses no renewal."""


class LeasedWorker(Worker):
    """An arq ``Worker`` whose running jobs are leased for ``lease`` and renewed."""

    def __init__(self, *args: Any, lease: timedelta = LEASE, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lease = lease
        self.in_progress_timeout_s = lease.total_seconds()
        self._lease_ms = round(lease.total_seconds() * 1000)
        self._every = lease.total_seconds() / 3
        self._renewing: asyncio.Task[None] | None = None
        self._failing = False

    async def run_job(self, job_id: str, score: int) -> None:
        # Started with a job, ended when no job is left: nothing to stop when the worker
        # stops, and arq's loop may end on a store error and start again meanwhile.
        if self._renewing is None or self._renewing.done():
            self._renewing = asyncio.create_task(self._renew(), name="job leases")
        await super().run_job(job_id, score)

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        # A job whose lease ran out while this worker still runs it (the store was away
        # longer) is free to every worker but this one: arq tracks a job by its id, and two
        # runs of one id in one worker would confuse its bookkeeping.
        running = self._running()
        await super().start_jobs([job for job in job_ids if job.decode() not in running])

    def _running(self) -> dict[str, "asyncio.Task[Any]"]:
        return {job_id: task for job_id, task in self.tasks.items() if not task.done()}

    async def _renew(self) -> None:
        while running := self._running():
            # Wakes early when they all end, so the last job's end ends this too.
            await asyncio.wait(running.values(), timeout=self._every)
            await self._extend(self._running())

    async def _extend(self, jobs: Collection[str]) -> None:
        """A renewal that fails is tried again next time: no error ends the renewal, as
        a worker that stopped renewing would lose every job it runs."""
        if not jobs:
            return
        try:
            async with self.pool.pipeline(transaction=False) as pipe:
                for job_id in jobs:
                    pipe.pexpire(in_progress_key_prefix + job_id, self._lease_ms)
                await pipe.execute()
        except Exception as error:
            if not store_outage(error):
                log.exception("renewing the leases of %d running jobs failed", len(jobs))
            elif not self._failing:
                log.warning(
                    "renewing the leases of %d running jobs: storage unavailable (%s); "
                    "past %g s without one, other workers may run them too",
                    len(jobs),
                    error,
                    self.lease.total_seconds(),
                )
            self._failing = True
        else:
            if self._failing:
                log.info("renewing the leases of running jobs: working again")
            self._failing = False
