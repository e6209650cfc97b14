"""Where the time of a leaderboard regeneration went, per method and dataset: the records' own timings (fit,
encoding, evaluation; summed over the runs, one thread each) and, where the sweep's printed output is given, the
wall time of each job as the sweep measured it (process start and imports included).

Run from the repository root, e.g. after ``make leaderboard`` into an empty folder:

    .venv/bin/python docs/scripts/grid_times.py RESULTS [SWEEP_OUTPUT ...]

RESULTS is a results folder; each SWEEP_OUTPUT is what ``zshbench sweep`` printed (lines such as
``[3/21] done: razh on fashion (12 run(s), 2690 s)``). Prints a Markdown table; the sums are CPU seconds of one
core, so with 2 workers an idle machine needs about half of their total in wall time.
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from pathlib import Path

from zshbench.leaderboard.check import method_variants
from zshbench.records import load_records

LINE = re.compile(r"\] (done|FAILED): (\S+) on (\S+) \((\d+) run\(s\), (\d+) s\)")


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    recs, errs = load_records(argv[0])
    if errs:
        print(f"{len(errs)} record(s) could not be read; first: {errs[0]}", file=sys.stderr)
    variant_of = method_variants(recs)
    runs: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
    for r in recs:
        if r.non_default_params or variant_of.get(r.method):
            kind = "ablation"
        elif r.evaluation.get("variant", "standard") != "standard" or r.protocol["name"] != f"{r.dataset}-zsh":
            kind = "protocol effects"
        else:
            kind = "ranking"
        runs[(r.method, r.dataset, kind)].append(r.timings or {})
    rows = []
    for key, ts in runs.items():
        fit = sum(t.get("fit_s", 0.0) for t in ts)
        enc = sum(t.get("encode_database_s", 0.0) + t.get("encode_query_s", 0.0) for t in ts)
        ev = sum(t.get("eval_s", 0.0) + t.get("class_distances_s", 0.0) for t in ts)
        rows.append((fit + enc + ev, key, len(ts), fit, enc, ev))
    rows.sort(reverse=True)
    print("| method | dataset | runs of | runs | fit (s) | encode (s) | evaluate (s) | total (s) |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for total, (method, dataset, kind), n, fit, enc, ev in rows:
        print(f"| {method} | {dataset} | {kind} | {n} | {fit:,.0f} | {enc:,.0f} | {ev:,.0f} | {total:,.0f} |")
    print(f"\n{sum(r[2] for r in rows)} runs; {sum(r[0] for r in rows):,.0f} s of one core inside the runs")
    for out in argv[1:]:
        jobs = [m for m in map(LINE.search, Path(out).read_text(errors="replace").splitlines()) if m]
        longest = sorted(jobs, key=lambda m: -float(m.group(5)))[:3]
        print(
            f"{out}: {len(jobs)} job(s), {sum(float(m.group(5)) for m in jobs):,.0f} s of summed job wall time"
            f" ({sum(m.group(1) == 'FAILED' for m in jobs)} failed); longest: "
            + ", ".join(f"{m.group(2)} on {m.group(3)} {float(m.group(5)):,.0f} s" for m in longest)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
