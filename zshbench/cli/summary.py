"""The summary table ``zshbench run`` prints when its runs are done."""

from __future__ import annotations

from zshbench.evaluate import HEADLINE_K

__all__ = ["summary_table"]


def summary_table(records: list, statuses: dict[str, str]):
    """The run summary, under 80 columns: the method, dataset and protocol in the title (one ``run`` has one of
    each; columns only when they vary), then per run its code length, seed, the metrics actually computed (map@k
    with the run's k, its tie-aware form, map@all, and S->A's map@k when the protocol has seen queries), fit
    seconds and status."""
    from rich.table import Table

    ks = sorted({r.k for r in records}) or [HEADLINE_K]
    key = f"map@{ks[0]}" if len(ks) == 1 else "map@k"
    varying = [
        c
        for c, f in (
            ("method", lambda r: r.method),
            ("dataset", lambda r: r.dataset),
            ("protocol", lambda r: r.protocol["name"]),
        )
        if len({f(r) for r in records}) > 1
    ]
    title = "zshbench run"
    if records and not varying:
        r0 = records[0]
        title += f": {r0.method} on {r0.dataset} / {r0.protocol['name']} v{r0.protocol['version']}"
    seen = any((r.settings or {}).get("S->A") for r in records)
    cols = [
        *varying,
        "bits",
        "seed",
        key,
        "tie-aware",
        "map@all",
        *(["S->A " + key] if seen else []),
        "fit s",
        "status",
    ]
    t = Table(title=title)
    for col in cols:
        t.add_column(col, justify="left" if col in ("method", "dataset", "protocol", "status") else "right")

    def fmt(x):
        return "-" if x is None else f"{x:.4f}"

    for r in records:
        m = r.metrics
        kk = f"map@{r.k}"
        vals = {"method": r.method, "dataset": r.dataset, "protocol": r.protocol["name"]}
        row = [vals[c] for c in varying]
        row += [str(r.n_bits), str(r.seed), fmt(m.get(kk)), fmt(m.get("tie_aware_" + kk)), fmt(m.get("map@all"))]
        if seen:
            row.append(fmt(((r.settings or {}).get("S->A") or {}).get(kk)))
        row += [f"{r.timings.get('fit_s', 0):.2f}", statuses.get(r.path or "", "")]
        t.add_row(*row)
    return t
