"""Replay measured job times through `make leaderboard`'s single queue: how long would the grid take with 2 workers?

Run from the repository root with what ``zshbench sweep`` printed during a regeneration (lines such as
``[3/21] done: razh on fashion (12 run(s), 2690 s)``), e.g. the five logs of the from-empty run of
docs/performance.md:

    .venv/bin/python docs/scripts/grid_schedule.py [--workers 2] SWEEP_OUTPUT [SWEEP_OUTPUT ...]

The plan is `make leaderboard`'s own (the committed grid files expanded against an empty results folder, then
`zshbench.sweep.pending` and the launcher's cost order); each planned job gets the measured time of a logged job
with the same method, dataset and number of runs (in log order when several match: the RAZH ablation settings),
and jobs start on the first free worker, as the local launcher starts them. Prints the replayed wall time, the
lower bound (job time / workers) and any planned job without a measured time. A replay, not a measurement: the
jobs' times are those of the logs, process start included.
"""

from __future__ import annotations

import re
import sys
import tempfile
from collections import defaultdict, deque
from pathlib import Path

from zshbench.sweep import expand, load_grid, pending
from zshbench.sweep.plan import _cost

LINE = re.compile(r"\] done: (\S+) on (\S+) \((\d+) run\(s\), (\d+) s\)")
GRIDS = ("grid", "zoo", "ablations", "effects-leaky", "effects-splits")


def main(argv: list[str]) -> int:
    workers = 2
    if argv[:1] == ["--workers"]:
        workers, argv = int(argv[1]), argv[2:]
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    measured: dict[tuple, deque] = defaultdict(deque)
    for log in argv:
        for m, d, n, t in LINE.findall(Path(log).read_text()):
            measured[(m, d, int(n))].append(int(t))
    with tempfile.TemporaryDirectory() as empty:
        jobs = [j for g in GRIDS for j in expand(load_grid(Path("leaderboard") / f"{g}.toml"), empty)]
        todo, _ = pending(jobs)
    todo.sort(key=_cost)
    free = [0.0] * workers
    total, unknown = 0.0, []
    for job in todo:
        times = measured.get((job.method, job.dataset, job.n_runs))
        if not times:
            unknown.append(f"{job.method} on {job.dataset} ({job.n_runs} runs)")
            continue
        t = times.popleft()
        total += t
        k = free.index(min(free))
        free[k] += t
    print(f"{len(todo)} planned jobs, {len(todo) - len(unknown)} with a measured time; {workers} workers")
    bound = total / workers / 60
    print(f"replayed wall time: {max(free) / 60:.1f} min; lower bound (job time / workers): {bound:.1f} min")
    for u in unknown:
        print(f"no measured time: {u}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
