"""``zshbench compare``: is one method significantly better than another, query by query (`zshbench.stats`)?"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import textwrap
from collections import defaultdict

from zshbench.cli.common import int_list
from zshbench.errors import UnknownNameError, UserError, did_you_mean

__all__ = ["add_parser", "cmd_compare"]

EPILOG = """\
examples:
  zshbench compare --results results lsh itq
  zshbench compare --results results lsh itq --dataset shapes --bits 32 --setting ua --metric map@all
  zshbench compare --results results 'lsh[cea82c]' 'lsh[5d1e0b]'      # two configs of one method
  zshbench compare --results results lsh itq --seeds 0,1              # only these seeds
Per (dataset, protocol version, code length) both methods have: the mean of each, the mean difference A - B
over the same seeds and queries, its 95% bootstrap interval (queries resampled, seeds kept), a two-sided
sign-flip test's p-value and a verdict at alpha = 0.05 (docs/metrics.md, "Significance").
Quote 'U->A' in a shell (> redirects), or use the tags ua, sa, uu, ss.
"""

_SELECTOR = re.compile(r"^([^\[\]\s]+?)(?:\[([0-9a-fA-F]+)\])?$")
_DESCRIPTION = {
    "ua": "unseen queries vs the whole database",
    "sa": "held-out seen queries vs the whole database",
    "uu": "unseen queries vs the unseen part of the database",
    "ss": "seen queries vs the seen part of the database",
}


def add_parser(sub) -> None:
    p = sub.add_parser(
        "compare",
        help="paired significance test of two methods from the per-query results of their records",
        description="Compare two methods (or two configs of one) query by query, over the same seeds.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "method_a", metavar="METHOD_A", help="a method with records in --results; lsh[cea82c] picks a config"
    )
    p.add_argument("method_b", metavar="METHOD_B", help="the other method (or config)")
    p.add_argument("--results", default="results", help="the results folder 'zshbench run --results' wrote into")
    p.add_argument("--dataset", default=None, help="only this dataset")
    p.add_argument("--bits", type=int, default=None, help="only this code length")
    p.add_argument("--metric", default=None, help="map@<k> (default: the records' headline map@k) or map@all")
    p.add_argument("--setting", default="U->A", help="U->A (default), S->A, U->U or S->S (or ua, sa, uu, ss)")
    p.add_argument("--config-a", default=None, metavar="HASH", help="config hash (prefix) of METHOD_A")
    p.add_argument("--config-b", default=None, metavar="HASH", help="config hash (prefix) of METHOD_B")
    p.add_argument("--seeds", type=int_list, default=None, help="only these seeds (comma-separated)")


def _key(d) -> str:
    return json.dumps(d, sort_keys=True, default=str)


def _parse_selector(text: str, config: str | None, which: str) -> tuple[str, str | None]:
    m = _SELECTOR.match(text.strip())
    if not m:
        raise UserError(
            f"METHOD_{which} {text!r} is not a method name or METHOD[CONFIG] (e.g. lsh or lsh[cea82c], the config "
            "hash's first hex digits); quote it in a shell."
        )
    method, prefix = m.group(1), m.group(2)
    if config is not None:
        if not re.fullmatch(r"[0-9a-fA-F]+", config):
            raise UserError(f"--config-{which.lower()} {config!r} is not a config hash (hex digits, e.g. cea82c).")
        if prefix and not (config.lower().startswith(prefix.lower()) or prefix.lower().startswith(config.lower())):
            raise UserError(
                f"METHOD_{which} {text!r} and --config-{which.lower()} {config} name different configs; give one."
            )
        prefix = config if not prefix or len(config) > len(prefix) else prefix
    return method, prefix.lower() if prefix else None


def _describe_config(r) -> str:
    nd = r.non_default_params
    if nd is None:
        return "?"
    return ", ".join(f"{k}={v}" for k, v in sorted(nd.items())) or "defaults"


def _select(records, text: str, config: str | None, which: str, results: str):
    method, prefix = _parse_selector(text, config, which)
    methods = sorted({r.method for r in records})
    if method not in methods:
        raise UnknownNameError(
            did_you_mean(method, methods, "method").rstrip(".") + f" (the methods with records in {results})."
        )
    recs = [r for r in records if r.method == method]
    if prefix:
        chosen = [r for r in recs if r.config_hash.lower().startswith(prefix)]
        if not chosen:
            configs = sorted({(r.config_hash[:6], _describe_config(r)) for r in recs})
            listing = ", ".join(f"{method}[{h}] ({d})" for h, d in configs)
            raise UserError(
                f"{method} has no config whose hash starts with {prefix} in {results}; its configs there: {listing}."
            )
        recs = chosen
    return method, prefix, recs


def _cell_label(cell: dict) -> str:
    from zshbench.evaluate import HEADLINE_K

    proto, ev = cell.get("protocol") or {}, cell.get("evaluation") or {}
    label = f"{(cell.get('dataset') or {}).get('name')} / {proto.get('name')} v{proto.get('version')} / "
    label += f"{cell['n_bits']} bits"
    if ev.get("k") not in (None, HEADLINE_K):
        label += f" / k={ev['k']}"
    if ev.get("variant") not in (None, "standard"):
        label += f" / {ev['variant']} variant"
    if proto.get("pinned") is False:
        label += f" / unpinned protocol {str(proto.get('sha256', ''))[:8]}"
    return label


def _cells(records) -> dict[str, list]:
    from zshbench.stats import cell_key

    out: dict[str, list] = defaultdict(list)
    for r in records:
        out[_key(cell_key(r))].append(r)
    return out


def _one_row(recs, method: str, label: str, which: str, where: str):
    """The records of ``method`` in one cell, refusing when they are several rows (configs)."""
    from zshbench.records import identity_difference
    from zshbench.stats import row_key

    rows: dict[str, list] = defaultdict(list)
    for r in recs:
        rows[_key(row_key(r))].append(r)
    if len(rows) == 1:
        return next(iter(rows.values()))
    groups = list(rows.values())
    hashes = {g[0].config_hash for g in groups}
    if len(hashes) == len(groups):
        listing = ", ".join(f"{method}[{g[0].config_hash[:6]}] ({_describe_config(g[0])})" for g in groups)
        first = groups[0][0].config_hash[:6]
        raise UserError(
            f"{label} has {len(groups)} configs in {where}: {listing}; name one, e.g. '{method}[{first}]' or "
            f"--config-{which.lower()} {first}."
        )
    diff = "; ".join(identity_difference(row_key(groups[0][0]), row_key(groups[1][0]))[:3])
    raise UserError(
        f"{label} has records of one config that differ in {diff} in {where}; a comparison needs one row: move "
        "one set of records to another results folder."
    )


def cmd_compare(args) -> int:
    from zshbench.cli.results import _load_results, _warn_excluded
    from zshbench.stats import BOOTSTRAP_DRAWS, LEVEL, PERMUTATIONS, RNG_SEED, PerQuery, compare, setting_tag

    tag = setting_tag(args.setting)
    records, errors = _load_results(args.results)
    _warn_excluded(errors)
    if not records:
        raise UserError(
            f"Results directory '{args.results}' holds no valid records; run 'zshbench run ... --results "
            f"{args.results}' for both methods first."
        )
    method_a, prefix_a, recs_a = _select(records, args.method_a, args.config_a, "A", args.results)
    method_b, prefix_b, recs_b = _select(records, args.method_b, args.config_b, "B", args.results)
    same = method_a == method_b
    label_a = method_a + (f"[{prefix_a[:6]}]" if prefix_a and (same or prefix_b) else "")
    label_b = method_b + (f"[{prefix_b[:6]}]" if prefix_b and (same or prefix_a) else "")
    shared = sorted({r.config_hash[:6] for r in recs_a} & {r.config_hash[:6] for r in recs_b}) if same else []
    if same and prefix_a and prefix_b and shared:  # e.g. lsh[cea] and lsh[cea82c]: one config compared with itself
        raise UserError(
            f"METHOD_A {args.method_a!r} and METHOD_B {args.method_b!r} both select the config {method_a}[{shared[0]}]"
            f"; name two different configs of {method_a} (the config hashes: see 'zshbench leaderboard')."
        )
    if same and (not prefix_a or not prefix_b):
        raise UserError(
            f"METHOD_A and METHOD_B both name {method_a}; to compare two of its configs name each, e.g. "
            f"'{method_a}[cea82c]' '{method_a}[5d1e0b]' (the config hashes: see 'zshbench leaderboard')."
        )
    if args.dataset is not None:
        have = sorted({r.dataset for r in recs_a + recs_b})
        if args.dataset not in have:
            raise UnknownNameError(
                did_you_mean(args.dataset, have, "dataset").rstrip(".") + f" (the datasets of {label_a} and {label_b})."
            )
        recs_a = [r for r in recs_a if r.dataset == args.dataset]
        recs_b = [r for r in recs_b if r.dataset == args.dataset]
    if args.bits is not None:
        have_bits = sorted({r.n_bits for r in recs_a + recs_b})
        if args.bits not in have_bits:
            raise UserError(
                f"No records of {args.bits} bits for {label_a} or {label_b}"
                + (f" on {args.dataset}" if args.dataset else "")
                + f"; their code lengths: {', '.join(map(str, have_bits))}."
            )
        recs_a = [r for r in recs_a if r.n_bits == args.bits]
        recs_b = [r for r in recs_b if r.n_bits == args.bits]
    cells_a, cells_b = _cells(recs_a), _cells(recs_b)
    common = [k for k in cells_a if k in cells_b]
    if not common:

        def listing(cells):
            return "; ".join(sorted(_cell_label(json.loads(k)) for k in cells)) or "none"

        raise UserError(
            f"{label_a} and {label_b} share no cell (dataset, protocol version, code length, evaluation) in "
            f"{args.results}: {label_a} has {listing(cells_a)}; {label_b} has {listing(cells_b)}. Run the missing "
            "ones with the same --dataset, --protocol and --bits (zshbench run ... --results "
            f"{args.results}), or narrow the comparison with --dataset and --bits."
        )
    common.sort(key=lambda k: (json.loads(k)["dataset"].get("name", ""), _cell_label(json.loads(k))))
    labels = {k: _cell_label(json.loads(k)) for k in common}
    repeated = {v for v in labels.values() if list(labels.values()).count(v) > 1}
    results = []
    for k in common:
        where = labels[k] + (f" [{hashlib.sha256(k.encode()).hexdigest()[:8]}]" if labels[k] in repeated else "")
        rows_a = _one_row(cells_a[k], method_a, label_a, "A", where)
        rows_b = _one_row(cells_b[k], method_b, label_b, "B", where)
        if args.seeds is not None:
            wanted = set(args.seeds)
            rows_a = [r for r in rows_a if r.seed in wanted]
            rows_b = [r for r in rows_b if r.seed in wanted]
            if not rows_a or not rows_b:
                raise UserError(
                    f"{where}: {label_a if not rows_a else label_b} has none of the seeds "
                    f"{', '.join(map(str, args.seeds))}; drop --seeds or name seeds both have."
                )
        seeds_a, seeds_b = sorted(r.seed for r in rows_a), sorted(r.seed for r in rows_b)
        if seeds_a != seeds_b:
            both = sorted(set(seeds_a) & set(seeds_b))
            hint = (
                f"pass --seeds {','.join(map(str, both))} to compare on the common seeds"
                if both
                else "they have no seed in common"
            )
            raise UserError(
                f"{where}: {label_a} has seeds {', '.join(map(str, seeds_a))} and {label_b} has "
                f"{', '.join(map(str, seeds_b))}; a paired comparison needs the same seeds: run the missing ones "
                f"or {hint}."
            )
        a = PerQuery.from_records(rows_a, args.metric, tag, label=label_a)
        b = PerQuery.from_records(rows_b, args.metric, tag, label=label_b)
        results.append((where, args.metric or f"map@{rows_a[0].k}", compare(a, b)))
    _print(results, label_a, label_b, tag)
    note = (
        f"Interval: {LEVEL:.0%} percentile bootstrap, {BOOTSTRAP_DRAWS:,} resamples of the queries (the same draw "
        f"in every seed; seeds kept), RNG seed {RNG_SEED}. p: two-sided sign-flip test of the mean per-query "
        f"difference ({PERMUTATIONS:,} random sign vectors). Details: docs/metrics.md, Significance."
    )
    print(textwrap.fill(note, 110))
    return 0


def _print(results, label_a: str, label_b: str, tag: str) -> None:
    from zshbench.stats import _setting_name

    metrics = sorted({m for _, m, _ in results})
    print(
        f"{label_a} vs {label_b}: {', '.join(metrics)} in {_setting_name(tag)} ({_DESCRIPTION[tag]}), "
        "paired by seed and query"
    )
    width = max(len(label_a), len(label_b))
    for where, _, c in results:
        print()
        seeds = ", ".join(map(str, c.seeds))
        print(f"{where}: {len(c.seeds)} seed{'s' if len(c.seeds) > 1 else ''} ({seeds}) x {c.n_queries} queries")
        print(f"  {label_a:<{width}}  {c.mean_a:.4f}")
        print(f"  {label_b:<{width}}  {c.mean_b:.4f}")
        print(
            f"  difference {c.diff:+.4f}  {c.level:.0%} CI [{c.ci_low:+.4f}, {c.ci_high:+.4f}]  {c.p_text()}"
            f"  (A - B = {label_a} - {label_b})"
        )
        print("  per seed: " + ", ".join(f"{s}: {x:+.4f}" for s, x in zip(c.seeds, c.seed_diffs)))
        print(textwrap.fill(f"verdict: {c.verdict()}", 110, initial_indent="  ", subsequent_indent="    "))
    print()
