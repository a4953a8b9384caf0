"""Where benchmarked processes run and what they cost: cores, CPU time, sampled profiles.

Linux only (``/proc``, CPU affinity), like the machines the figures are for.
"""

import os
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Cores:
    """Alertmanager always gets one core, as the issue's comparison says: it would use every
    core otherwise. The router, one Python thread, can use one core at most either way; it and
    Valkey get a core each only when asked (--pin), for a machine nobody else uses: on a
    shared one a pinned process waits for its core while the other may be idle."""

    router: int | None
    store: int | None
    peer: int

    @classmethod
    def of_this_machine(cls, *, pin: bool) -> "Cores":
        cores = sorted(os.sched_getaffinity(0))
        if pin and len(cores) >= 2:
            return cls(cores[0], cores[1], cores[1])
        return cls(None, None, cores[-1])

    def describe(self) -> str:
        if self.router is None:
            return f"router and Valkey not pinned, Alertmanager on core {self.peer}"
        return (
            f"router on core {self.router}, Valkey on core {self.store}, "
            f"Alertmanager on core {self.peer}"
        )


def pin(pid: int, core: int | None) -> None:
    if core is not None:
        os.sched_setaffinity(pid, {core})


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far."""
    # The command name (field 2) may hold spaces and parentheses: split after its last ")".
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_profile(pid: int, output: Path) -> subprocess.Popen[bytes]:
    """py-spy sampling ``pid`` until it exits, written as collapsed stacks (what flame graph
    tools and speedscope.app read). Attaching from outside leaves the process unchanged."""
    py_spy = Path(sys.executable).with_name("py-spy")
    if not py_spy.exists():
        raise SystemExit(f"--profile needs py-spy beside {sys.executable}: pip install py-spy")
    return subprocess.Popen(
        [
            *(py_spy, "record", "--pid", str(pid), "--rate", "100", "--output", str(output)),
            # Collapsed stacks, one frame per function rather than per line.
            *("--format", "raw", "--function"),
        ],
        stdout=subprocess.DEVNULL,
    )


def top_functions(collapsed: Path, count: int = 10) -> list[tuple[str, float, float]]:
    """``(function, % of samples in it, % of samples under it)``, most own time first."""
    own: Counter[str] = Counter()
    under: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        frames = stack.split(";")
        weight = int(samples)
        total += weight
        own[frames[-1]] += weight
        for frame in set(frames):
            under[frame] += weight
    if not total:
        return []
    return [
        (frame, 100 * samples / total, 100 * under[frame] / total)
        for frame, samples in own.most_common(count)
    ]


def stop_profile(profiler: subprocess.Popen[bytes]) -> None:
    """After its target was killed: py-spy writes its file and exits on its own, unless hung."""
    try:
        profiler.wait(timeout=60)
    except subprocess.TimeoutExpired:
        profiler.kill()
        profiler.wait()
