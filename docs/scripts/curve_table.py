"""The budget-rule table of docs/curves/README.md, computed from the learning-curve reports in docs/curves.

For every ``<method>_<dataset>_<bits>b.json`` written by ``zshbench curve``: the measured points (seen-class
validation map@5000 per budget), the budget the rule picks (`zshbench.budgets.choose_budget`: the smallest E whose
doubling to 2E gains less than 0.01), the method's CURRENT default budget (its ``tiny`` profile) and what doubling
that default gains, when both points were measured. Nothing here is typed by hand, so the table cannot disagree
with the reports.

Run from the repository root: .venv/bin/python docs/scripts/curve_table.py [FOLDER]   (default docs/curves)
"""

import json
import sys
from pathlib import Path

from zshbench.budgets import TOLERANCE, choose_budget
from zshbench.registry import create_hasher


def default_epochs(method: str) -> int | None:
    """The method's current default budget (its default profile's ``epochs``); None for a method without one."""
    epochs = create_hasher(method).resolved_profile().get("epochs")
    return None if epochs is None else int(epochs)


def row(path: Path) -> str:
    c = json.loads(path.read_text())
    by = {int(p["epochs"]): float(p["map@5000"]) for p in c["points"]}
    pts = ", ".join(f"{e}: {by[e]:.3f}" for e in sorted(by))
    pick = choose_budget(c["points"])
    d = default_epochs(c["method"])
    if d is None:
        verdict = "no epochs budget"
    elif d in by and 2 * d in by:
        gain = by[2 * d] - by[d]
        verdict = f"{'met' if gain < TOLERANCE else 'not met'}: {d} -> {2 * d} gains {gain:+.3f}"
    else:
        verdict = f"not measured at {d} and {2 * d}"
    over = ", ".join(f"{k}={v}" for k, v in sorted(c.get("overrides", {}).items()))
    return (
        f"| {c['method']} | {c['dataset']} | {c.get('method_version', '?')}{f' ({over})' if over else ''} | {pts} "
        f"| {pick if pick is not None else 'none (still rising)'} | {d if d is not None else '-'} | {verdict} |"
    )


def main(folder: str = "docs/curves") -> None:
    files = sorted(Path(folder).glob("*_*b.json"), key=lambda p: (json.loads(p.read_text())["dataset"], p.name))
    if not files:
        sys.exit(f"No learning-curve reports (*_<bits>b.json) in {folder}; make them with `zshbench curve`.")
    print("| method | dataset | version | epochs: validation map@5000 | rule picks | default | default doubled |")
    print("|---|---|---|---|---:|---:|---|")
    for f in files:
        print(row(f))


if __name__ == "__main__":
    main(*sys.argv[1:2])
