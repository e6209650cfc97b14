"""Jobs and planning: which runs of a grid are not done yet (`pending`), grouped into ``zshbench run``
invocations, ordered by cost."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["Job", "JobResult", "pending"]


@dataclasses.dataclass(frozen=True)
class Job:
    """One ``zshbench run`` invocation: a method on a dataset for some code lengths and seeds."""

    method: str
    dataset: str
    bits: tuple[int, ...]
    seeds: tuple[int, ...]
    results: str
    protocol: str | None = None
    overrides: tuple[str, ...] = ()
    device: str = "auto"
    data_root: str | None = None
    inputs: str = "features"  # "images" (deep method) or "features"; used to order the work
    checkpoint_every: int = 0  # deep methods: training checkpoint every N steps (what a preempted job resumes)
    resume: bool = False  # deep methods: continue from a run's checkpoint when there is one
    replace: tuple[str, ...] = ()  # unusable records in the way of this job's runs (it reruns them with --force)
    eval_variant: str = "standard"  # "leaky": the protocol-effects measurement of the published code's overlap

    @property
    def n_runs(self) -> int:
        return len(self.bits) * len(self.seeds)

    @property
    def name(self) -> str:
        b = "-".join(map(str, self.bits))
        s = "-".join(map(str, self.seeds))
        tag = self.dataset.replace("/", "_").replace(":", "_")
        name = f"{self.method}__{tag}__b{b}__s{s}"
        if self.protocol:
            stem = Path(self.protocol).stem if self.protocol.endswith(".toml") else self.protocol
            name += "__" + "".join(c if c.isalnum() or c in "-_" else "_" for c in stem)
            if self.protocol.endswith(".toml"):  # two grids' protocol files may share a stem: keep logs apart
                import hashlib

                where = str(Path(self.protocol).resolve())
                name += "-" + hashlib.sha256(where.encode()).hexdigest()[:6]
        if self.eval_variant != "standard":
            name += f"__{self.eval_variant}"
        if self.overrides:
            import hashlib

            name += "__" + hashlib.sha256("\n".join(self.overrides).encode()).hexdigest()[:8]
        return name

    def argv(self) -> list[str]:
        """The arguments of ``zshbench`` (after the program name) that perform this job."""
        a = [
            "run",
            "--method",
            self.method,
            "--dataset",
            self.dataset,
            "--bits",
            ",".join(map(str, self.bits)),
            "--seeds",
            ",".join(map(str, self.seeds)),
            "--results",
            self.results,
            "--device",
            self.device,
            "--no-progress",
        ]
        if self.protocol:
            a += ["--protocol", self.protocol]
        if self.data_root:
            a += ["--data-root", self.data_root]
        if self.eval_variant != "standard":
            a += ["--eval-variant", self.eval_variant]
        for o in self.overrides:
            a += ["--set", o]
        if self.checkpoint_every and self.inputs == "images":
            a += ["--checkpoint-every", str(self.checkpoint_every)]
        if self.resume and self.inputs == "images":
            a += ["--resume"]
        if self.replace:  # the job holds only runs without a usable record: --force replaces the broken ones
            a += ["--force"]
        return a

    def command(self) -> list[str]:
        return [sys.executable, "-m", "zshbench", *self.argv()]


@dataclasses.dataclass
class JobResult:
    job: Job
    ok: bool
    seconds: float = 0.0
    message: str = ""
    log: str | None = None


def pending(jobs: Sequence[Job], *, group: bool = True) -> tuple[list[Job], int]:
    """Drop the runs that are done; return (jobs to launch, number of runs skipped).

    A run is done only when its results folder holds a valid record with exactly its identity
    (`zshbench.runner.Prepared.lookup`); a record that cannot be used (corrupt, edited, another run's) is not done:
    its job lists it in ``replace`` and reruns it with ``--force``. A run that several jobs list (the same record
    path, e.g. one run in two grid files of one sweep) is planned once, in the first of them. Every (method,
    dataset) is validated here through `zshbench.runner.prepare`, so bad input fails before any launch. Every
    remaining run becomes a one-run `Job`; with ``group`` the remaining runs of one (method, dataset, overrides)
    become one `Job` over the union of their code lengths and seeds (never a run the grid excludes or one
    already done)."""
    from zshbench.runner import prepare

    prepared: dict[tuple, Any] = {}
    todo: list[Job] = []
    skipped = 0
    claimed: set[str] = set()  # record paths of the runs already planned (a run in two grids runs once)
    for j in jobs:
        key = (j.method, j.dataset, j.protocol, j.overrides, j.data_root, j.eval_variant)
        if key not in prepared:
            prepared[key] = prepare(
                j.method,
                j.dataset,
                protocol=j.protocol,
                bits=j.bits,
                seeds=j.seeds,
                device="cpu",
                overrides=list(j.overrides),
                data_root=j.data_root,
                eval_variant=j.eval_variant,
            )
        prep = prepared[key]
        for b in j.bits:
            for s in j.seeds:
                look = prep.lookup(j.results, b, s)
                look.slot.hasher.validate_config()  # prepare() validated the first job's code length only
                path = str(look.slot.path)
                if path in claimed:  # listed by an earlier job (another grid file): counted there
                    continue
                if look.status == "done":
                    claimed.add(path)
                    skipped += 1
                else:
                    claimed.add(path)
                    broken = (look.problem or path,) if look.status == "invalid" else ()
                    todo.append(dataclasses.replace(j, bits=(b,), seeds=(s,), replace=broken))
    if not group:
        return todo, skipped
    groups: dict[tuple, list[Job]] = {}
    for j in todo:
        groups.setdefault((j.method, j.dataset, j.protocol, j.overrides, j.data_root, j.eval_variant), []).append(j)
    out = []
    for members in groups.values():
        # one job per set of seeds: code lengths missing the same seeds share a job, so a job's bits x seeds is
        # exactly its missing runs (never a run the grid excludes or one already recorded)
        by_bits: dict[int, set[int]] = {}
        broken_of: dict[tuple[int, int], tuple[str, ...]] = {}
        for j in members:
            for b in j.bits:
                by_bits.setdefault(b, set()).update(j.seeds)
                for s in j.seeds:
                    broken_of[(b, s)] = j.replace
        by_seeds: dict[tuple[int, ...], list[int]] = {}
        for b, ss in by_bits.items():
            by_seeds.setdefault(tuple(sorted(ss)), []).append(b)
        for seeds, bits in by_seeds.items():
            rep = tuple(dict.fromkeys(p for b in bits for s in seeds for p in broken_of.get((b, s), ())))
            out.append(dataclasses.replace(members[0], bits=tuple(sorted(bits)), seeds=seeds, replace=rep))
    return out, skipped


def _cost(job: Job) -> tuple:
    """Order of launch (a stable sort key): deep (image) methods first, larger jobs first, otherwise the grid's
    order of methods and datasets (list the costliest first, e.g. methods = ["razh*", "all"])."""
    return (job.inputs != "images", -job.n_runs)
