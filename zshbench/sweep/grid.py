"""Grid files and their expansion into one `Job` per run (`load_grid`, `expand`); the format is in
`zshbench.sweep`'s docstring."""

from __future__ import annotations

import dataclasses
import fnmatch
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from zshbench.errors import UserError
from zshbench.sweep.plan import Job

__all__ = ["Grid", "load_grid", "resolve_methods", "method_overrides", "expand"]


@dataclasses.dataclass
class Grid:
    """Methods x datasets x bits x seeds, with per-method overrides (pattern -> ``["key=value", ...]``)."""

    methods: list[str]
    datasets: list[str]
    bits: list[int]
    seeds: list[int]
    overrides: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    protocols: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    exclude: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    eval_variant: str = "standard"
    # [[ablation]] entries: {"method", "set": ["key=value", ...], "label", optional "datasets"/"bits"/"seeds"}
    ablations: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def dataset_protocols(self, dataset: str) -> list[str | None]:
        """The protocols a dataset runs under (None: its default protocol)."""
        return list(self.protocols.get(dataset) or [None])

    def excluded(self, method: str, dataset: str, bits: int, seed: int) -> bool:
        """Whether an ``[[exclude]]`` entry removes this run from the grid."""
        for rule in self.exclude:
            if (
                ("methods" not in rule or any(fnmatch.fnmatchcase(method, p) for p in rule["methods"]))
                and ("datasets" not in rule or dataset in rule["datasets"])
                and ("bits" not in rule or bits in rule["bits"])
                and ("seeds" not in rule or seed in rule["seeds"])
            ):
                return True
        return False


_GRID_KEYS = {"methods", "datasets", "bits", "seeds", "overrides", "protocols", "exclude", "eval_variant", "ablation"}
_EXCLUDE_KEYS = {"methods", "datasets", "bits", "seeds", "reason"}
_ABLATION_KEYS = {"method", "set", "label", "datasets", "bits", "seeds"}


def _int_list(value: Any, key: str, where: str) -> list[int]:
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value]
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        raise UserError(
            f"{where}: '{key}' must be a non-empty list of integers, e.g. {key} = [24, 48, 64, 128]; got {value!r}."
        )
    return list(dict.fromkeys(int(v) for v in value))  # in order, each once


def _str_list(value: Any, key: str, where: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise UserError(
            f"{where}: '{key}' must be a non-empty list of strings, e.g. {key} = [\"shapes\"]; got {value!r}."
        )
    return list(dict.fromkeys(value))  # in order, each once


def load_grid(path: str | Path) -> Grid:
    """Read and check a grid TOML file (format in the module docstring)."""
    import tomllib

    p = Path(path)
    if not p.is_file():
        raise UserError(
            f"Grid file {p} does not exist. Pass an existing .toml file (e.g. leaderboard/grid.toml) "
            "or give the grid on the command line with --methods, --datasets, --bits and --seeds."
        )
    try:
        data = tomllib.loads(p.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UserError(
            f"Grid file {p} is not valid TOML ({exc}). Fix the syntax; the format is described in "
            "'zshbench sweep --help' and zshbench/sweep.py."
        ) from None
    unknown = sorted(set(data) - _GRID_KEYS)
    if unknown:
        raise UserError(
            f"Grid file {p} has unknown key(s) {', '.join(unknown)}; the keys are {', '.join(sorted(_GRID_KEYS))}."
        )
    missing = [k for k in ("methods", "datasets", "bits", "seeds") if k not in data]
    if missing:
        raise UserError(
            f"Grid file {p} lacks {', '.join(missing)}: a grid needs methods, datasets, bits and "
            'seeds (e.g. methods = "all", datasets = ["shapes"], bits = [64], seeds = [0]).'
        )
    where = f"Grid file {p}"
    overrides = data.get("overrides", {})
    if not isinstance(overrides, dict):
        raise UserError(f'{where}: [overrides] must be a table of method pattern -> list of "key=value".')
    protocols = data.get("protocols", {})
    if not isinstance(protocols, dict):
        raise UserError(
            f"{where}: protocols must be a table of dataset -> protocol name or list of protocols (names, "
            'name@version or .toml paths relative to the grid file), e.g. [protocols] shapes = "shapes-zsh@1".'
        )
    protocols = {
        d: [_protocol_ref(v, p.parent) for v in _str_list(v, f"protocols.{d}", where)] for d, v in protocols.items()
    }
    variant = data.get("eval_variant", "standard")
    if variant not in ("standard", "leaky"):
        raise UserError(
            f'{where}: eval_variant must be "standard" (the leaderboard\'s evaluation) or "leaky" (the published '
            f"COMAE/PIXEL code's query/database overlap, for the protocol-effects section only); got {variant!r}."
        )
    exclude = data.get("exclude", [])
    if not isinstance(exclude, list) or not all(isinstance(e, dict) for e in exclude):
        raise UserError(
            f"{where}: exclude must be a list of tables ([[exclude]] with methods/datasets/bits/seeds and a reason)."
        )
    rules = []
    for i, e in enumerate(exclude):
        bad = sorted(set(e) - _EXCLUDE_KEYS)
        if bad or not isinstance(e.get("reason"), str) or not e["reason"].strip():
            raise UserError(
                f"{where}: [[exclude]] entry {i + 1} "
                + (f"has unknown key(s) {', '.join(bad)}" if bad else "has no reason")
                + f"; its keys are {', '.join(sorted(_EXCLUDE_KEYS))}, and "
                "reason (why the runs are left out) is required."
            )
        rule: dict[str, Any] = {"reason": e["reason"]}
        _copy_lists(e, rule, ("methods", "datasets"), "exclude", where)
        rules.append(rule)
    ablations = _load_ablations(data.get("ablation", []), where)
    return Grid(
        methods=_str_list(data["methods"], "methods", where),
        datasets=_str_list(data["datasets"], "datasets", where),
        bits=_int_list(data["bits"], "bits", where),
        seeds=_int_list(data["seeds"], "seeds", where),
        overrides={k: _str_list(v, f"overrides.{k}", where) for k, v in overrides.items()},
        protocols=protocols,
        exclude=rules,
        eval_variant=variant,
        ablations=ablations,
    )


def _load_ablations(entries: Any, where: str) -> list[dict[str, Any]]:
    """Check the ``[[ablation]]`` entries of a grid file: one method (a registered name, not a pattern), the
    settings it runs with (``set``, at least one "key=value"), what the setting is (``label``, e.g. "RAZH-C,
    Table VI"), and optionally its own datasets/bits/seeds (default: the grid's)."""
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise UserError(
            f'{where}: ablation must be a list of tables ([[ablation]] with method = "razh", set = '
            '["variant=no-cluster"], label = "RAZH-C (Table VI)").'
        )
    out = []
    for i, e in enumerate(entries):
        bad = sorted(set(e) - _ABLATION_KEYS)
        label = e.get("label")
        method = e.get("method")
        if (
            bad
            or not isinstance(method, str)
            or not method
            or any(ch in method for ch in "*?[")
            or not isinstance(label, str)
            or not label.strip()
        ):
            raise UserError(
                f"{where}: [[ablation]] entry {i + 1} "
                + (f"has unknown key(s) {', '.join(bad)}" if bad else "needs method (one registered name) and label")
                + f"; its keys are {', '.join(sorted(_ABLATION_KEYS))}: method and set are the run, label says "
                'what it ablates (e.g. "RAZH-C, Table VI"), datasets/bits/seeds default to the grid\'s.'
            )
        sets = _str_list(e.get("set"), f"ablation[{i + 1}].set", where)
        bad_kv = [v for v in sets if "=" not in v or not v.partition("=")[0].strip()]
        if bad_kv:
            raise UserError(
                f"{where}: [[ablation]] entry {i + 1} has set value(s) {', '.join(map(repr, bad_kv))} that are not "
                '"key=value" (e.g. set = ["variant=no-cluster"]).'
            )
        entry: dict[str, Any] = {"method": method, "set": sets, "label": label.strip()}
        _copy_lists(e, entry, ("datasets",), f"ablation[{i + 1}]", where)
        out.append(entry)
    return out


def _copy_lists(src: dict, dest: dict[str, Any], str_keys: tuple[str, ...], prefix: str, where: str) -> None:
    """Check and copy the optional list keys of an [[exclude]] or [[ablation]] entry: ``str_keys`` as lists of
    strings, bits and seeds as lists of integers."""
    for k in str_keys:
        if k in src:
            dest[k] = _str_list(src[k], f"{prefix}.{k}", where)
    for k in ("bits", "seeds"):
        if k in src:
            dest[k] = _int_list(src[k], f"{prefix}.{k}", where)


def _protocol_ref(ref: str, base: Path) -> str:
    """A protocol of a grid file: names and ``name@version`` as given; a ``.toml`` path relative to the grid
    file's folder made absolute (the sweep may run from another folder)."""
    if ref.endswith(".toml") or "/" in ref:
        q = Path(ref)
        return str(q if q.is_absolute() else (base / q).resolve())
    return ref


def resolve_methods(patterns: Sequence[str]) -> list[str]:
    """Registered method names matching names or fnmatch patterns ("all" = every registered method), in the
    order given, each once (``["razh*", "all"]`` puts RAZH and its variants first)."""
    from zshbench.registry import METHODS, did_you_mean

    names = METHODS.names()
    out: list[str] = []
    for pat in patterns:
        if pat == "all":
            hits = names
        elif any(ch in pat for ch in "*?["):
            hits = [n for n in names if fnmatch.fnmatchcase(n, pat)]
        else:
            hits = [pat] if pat in METHODS else []
        if not hits:
            if any(ch in pat for ch in "*?["):
                raise UserError(
                    f"No registered method matches the pattern '{pat}'. Available: "
                    f"{', '.join(names)}. See 'zshbench list methods'."
                )
            raise UserError(did_you_mean(pat, names, "method") + " See 'zshbench list methods'.")
        out += [h for h in hits if h not in out]
    return out


def method_overrides(grid: Grid, method: str, extra: Sequence[str] = ()) -> tuple[str, ...]:
    """The grid's overrides that apply to ``method`` (in file order), then ``extra``: later keys win.

    ``extra`` entries may be scoped to methods as ``PATTERN:key=value`` (e.g. ``razh*:max_steps=5``)."""
    out: list[str] = []
    for pat, values in grid.overrides.items():
        if fnmatch.fnmatchcase(method, pat):
            out += values
    for item in extra:
        head, sep, _ = item.partition("=")
        if ":" in head:
            pat, _, kv = item.partition(":")
            if fnmatch.fnmatchcase(method, pat):
                out.append(kv)
        else:
            out.append(item)
    return tuple(out)


def _check_override_patterns(grid: Grid, extra: Sequence[str]) -> None:
    """A method pattern of an override that matches no registered method is a typo, not a no-op."""
    from zshbench.registry import METHODS

    names = METHODS.names()
    pats = [(p, f'[overrides] "{p}"') for p in grid.overrides]
    for item in extra:
        head = item.partition("=")[0]
        if ":" in head:
            pats.append((item.partition(":")[0], f"--set {item}"))
    for pat, where in pats:
        if not any(fnmatch.fnmatchcase(m, pat) for m in names):
            raise UserError(
                f"The override {where} is for methods matching '{pat}', but no registered method "
                f"matches it (registered: {', '.join(names)}). Fix the pattern: a typo would "
                "silently run the defaults."
            )


def expand(
    grid: Grid,
    results: str | Path,
    *,
    extra_overrides: Sequence[str] = (),
    device: str = "auto",
    data_root: str | None = None,
    checkpoint_every: int = 0,
    resume: bool = False,
) -> list[Job]:
    """One single-run `Job` per (method, dataset, bits, seed) of the grid, in a fixed order (runs matched by an
    ``[[exclude]]`` entry left out; repeated names or numbers count once), then the runs of each ``[[ablation]]``
    entry (its method with the grid's overrides, then its ``set``; over its own datasets/bits/seeds or the
    grid's)."""
    from zshbench.registry import get_method

    jobs = []
    methods = resolve_methods(grid.methods)
    _check_override_patterns(grid, extra_overrides)
    cells = [(m, method_overrides(grid, m, extra_overrides), grid.datasets, grid.bits, grid.seeds) for m in methods]
    for a in grid.ablations:
        m = resolve_methods([a["method"]])[0]
        ov = method_overrides(grid, m, extra_overrides) + tuple(a["set"])
        cells.append((m, ov, a.get("datasets", grid.datasets), a.get("bits", grid.bits), a.get("seeds", grid.seeds)))
    for m, ov, datasets, bits, seeds in cells:
        inputs = get_method(m).requires.inputs
        for d in dict.fromkeys(datasets):  # each once, in order
            for proto in grid.dataset_protocols(d):
                for b in dict.fromkeys(bits):
                    for s in dict.fromkeys(seeds):
                        if grid.excluded(m, d, int(b), int(s)):
                            continue
                        jobs.append(
                            Job(
                                m,
                                d,
                                (int(b),),
                                (int(s),),
                                str(results),
                                proto,
                                ov,
                                device,
                                data_root,
                                inputs,
                                checkpoint_every,
                                resume,
                                eval_variant=grid.eval_variant,
                            )
                        )
    return jobs
