"""``zshbench list``, ``zshbench protocol`` and ``zshbench validate``."""

from __future__ import annotations

import textwrap

from zshbench.cli.common import Parser, console
from zshbench.errors import UserError

__all__ = ["add_parsers", "cmd_list", "cmd_protocol_list", "cmd_protocol_show", "cmd_protocol_resample", "cmd_validate"]


def add_parsers(sub) -> None:
    ls = sub.add_parser("list", help="list registered methods, datasets or protocols")
    ls.add_argument("what", choices=["methods", "datasets", "protocols"])
    ls.add_argument("pattern", nargs="?", default=None, help="fnmatch filter, e.g. 'razh*'")
    ls.add_argument("--names", action="store_true", help="print bare names, one per line (for scripts)")
    ls.add_argument(
        "--inputs",
        choices=["images", "features"],
        default=None,
        help="methods: only those that train on images (deep) or on feature vectors (shallow)",
    )
    ls.add_argument(
        "--verbose",
        "-v",
        action="store_true",
        help="methods: each method's config keys with their defaults and types, and its paper",
    )
    ls.add_argument(
        "--no-variants", action="store_true", help="methods: leave out variants and ablations (razh-t, comae-v1, ...)"
    )

    pr = sub.add_parser("protocol", help="inspect protocols")
    prs = pr.add_subparsers(dest="action", parser_class=Parser)
    show = prs.add_parser("show", help="seen/unseen classes, counts and split fingerprint")
    show.add_argument("name", help="a protocol name or a path to a protocol .toml file")
    show.add_argument("--dataset", default=None, help="resolve on this dataset (default: the protocol's dataset)")
    show.add_argument("--data-root", default=None)
    prs.add_parser("list", help="every protocol with its counts")
    rs = prs.add_parser(
        "resample",
        help="write alternative splits of a protocol (same counts, other unseen classes; unpinned) for the "
        "split-variance analysis",
        description="Write N alternative splits of a protocol as unpinned protocol files <name>-rsNN.toml under "
        "--out: same dataset and counts, other unseen classes, drawn deterministically from --draw-seed "
        "(zshbench.protocols.resample). Run methods on them with 'zshbench run --protocol FILE'; the report's "
        "protocol-effects section shows the spread. Each split is resolved on its dataset before anything is "
        "written.",
    )
    rs.add_argument("name", help="the base protocol (name, name@version or .toml path)")
    rs.add_argument("--n", type=int, default=10, help="number of alternative splits (1-99; default 10)")
    rs.add_argument("--draw-seed", type=int, default=0, help="seed of the class draws (default 0)")
    rs.add_argument("--out", required=True, help="folder for the protocol files (created if missing)")
    rs.add_argument("--data-root", default=None)
    rs.add_argument("--force", action="store_true", help="overwrite existing files with other content")

    v = sub.add_parser("validate", help="run the conformance kit on a method")
    v.add_argument("--method", required=True)


# papers of the built-in methods (the README's Methods table); a plugin sets its class's `paper` attribute
BUILTIN_PAPERS = {
    "lsh": "Charikar, STOC 2002",
    "pcah": "Wang, Kumar, Chang, TPAMI 2012",
    "itq": "Gong et al., TPAMI 2013",
    "sh": "Weiss, Torralba, Fergus, NeurIPS 2008",
    "razh": "Jiang et al., arXiv 2503.07037",
    "comae": "Li et al., ACM TOMM, arXiv 2402.16424",
    "dpsh": "Li et al., IJCAI 2016",
    "dsh": "Liu et al., CVPR 2016",
    "hashnet": "Cao et al., ICCV 2017",
    "dch": "Cao et al., CVPR 2018",
    "greedyhash": "Su et al., NeurIPS 2018",
    "csq": "Yuan et al., CVPR 2020",
    "sdh": "Shen et al., CVPR 2015",
    "dpn": "Fan et al., IJCAI 2020",
    "orthohash": "Hoe et al., NeurIPS 2021",
    "bihalf": "Li, van Gemert, AAAI 2021",
    "sitnet": "Guo et al., IJCAI 2017",
}


def method_paper(name: str, cls) -> str:
    """The method's paper: its class's ``paper``, else the built-in table's (a variant: its main method's)."""
    return cls.paper or BUILTIN_PAPERS.get(name) or BUILTIN_PAPERS.get(cls.variant_of or "", "")


def _config_fields(cls) -> list[tuple[str, str, str]]:
    """(key, default, type) of every config field but n_bits and seed (set with --bits and --seeds)."""
    import dataclasses
    import json

    from zshbench.config import _type_name, config_to_dict, field_types

    types_ = field_types(cls.Config)
    defaults = config_to_dict(cls.Config())
    out = []
    for f in dataclasses.fields(cls.Config):
        if f.name in ("n_bits", "seed"):
            continue
        out.append((f.name, json.dumps(defaults.get(f.name)), _type_name(types_[f.name])))
    return out


def _list_methods_verbose(con, names, no_variants: bool) -> None:
    import sys

    from zshbench.registry import get_method

    for name in names:
        cls = get_method(name)
        if no_variants and cls.variant_of:
            continue
        doc = (sys.modules[cls.__module__].__doc__ or "").strip().split("\n\n")[0]
        con.print(f"[bold]{name}[/bold]  " + " ".join(doc.split()), soft_wrap=True)
        facts = [
            f"paper: {method_paper(name, cls) or '-'}",
            f"inputs: {cls.requires.inputs}",
            f"version: {cls.version}",
        ]
        if cls.variant_of:
            facts.append(f"variant of: {cls.variant_of}")
        con.print("  " + "; ".join(facts), soft_wrap=True)
        fields = _config_fields(cls)
        width = max((len(k) for k, _, _ in fields), default=0)
        for key, default, tp in fields:
            con.print(f"    {key:<{width}} = {default}  ({tp})", soft_wrap=True, markup=False)
        if not fields:
            con.print("    (no config keys besides --bits and --seeds)")
        con.print("")


def cmd_list(args) -> int:
    from rich.table import Table

    from zshbench.registry import DATASETS, METHODS, get_dataset, get_method

    con = console()
    if args.names:
        from zshbench.protocols import list_protocols

        names = {"methods": METHODS.names, "datasets": DATASETS.names}.get(args.what)
        found = (
            names(args.pattern)
            if names
            else [n for n in list_protocols() if not args.pattern or __import__("fnmatch").fnmatch(n, args.pattern)]
        )
        if args.what == "methods" and args.no_variants:
            found = [n for n in found if not get_method(n).variant_of]
        if args.what == "methods" and args.inputs:
            found = [n for n in found if get_method(n).requires.inputs == args.inputs]
        print("\n".join(found))
        return 0
    if args.what == "methods" and getattr(args, "verbose", False):
        names = [
            n for n in METHODS.names(args.pattern) if not args.inputs or get_method(n).requires.inputs == args.inputs
        ]
        _list_methods_verbose(con, names, args.no_variants)
    elif args.what == "methods":
        t = Table(title="methods")
        for col in ("name", "variant of", "inputs", "attributes", "gpu", "version", "config keys", "source"):
            t.add_column(col)
        for name in METHODS.names(args.pattern):
            cls = get_method(name)
            import dataclasses

            # the method's own keys first, then those it inherits (n_bits and seed are --bits and --seeds)
            own = [
                f.name
                for f in dataclasses.fields(cls.Config)
                if f.name in cls.Config.__dataclass_fields__ and f.name in getattr(cls.Config, "__annotations__", {})
            ]
            rest = [f.name for f in dataclasses.fields(cls.Config) if f.name not in own]
            keys = ", ".join(k for k in own + rest if k not in ("n_bits", "seed"))
            req = cls.requires
            if args.no_variants and cls.variant_of:
                continue
            t.add_row(
                name,
                cls.variant_of or "-",
                req.inputs,
                "yes" if req.attributes else "no",
                "yes" if req.gpu_capable else "no",
                str(cls.version),
                keys or "-",
                METHODS.source(name),
            )
        con.print(t)
    elif args.what == "datasets":
        t = Table(title="datasets")
        for col in ("name", "description", "source"):
            t.add_column(col)
        for name in DATASETS.names(args.pattern):
            doc = (getattr(get_dataset(name), "__doc__", "") or "").strip().splitlines()
            t.add_row(name, doc[0] if doc else "", DATASETS.source(name))
        con.print(t)
    else:
        return cmd_protocol_list(args)
    return 0


def cmd_protocol_list(args) -> int:
    import fnmatch

    from rich.table import Table

    from zshbench.protocols import list_protocols, load_protocol

    t = Table(title="protocols")
    cols = (
        "name",
        "version",
        "dataset",
        "seen",
        "unseen",
        "train/class",
        "query/class",
        "seen query/class",
        "database",
    )
    for col in cols:
        t.add_column(col)
    for name in list_protocols():
        if getattr(args, "pattern", None) and not fnmatch.fnmatch(name, args.pattern):
            continue
        p = load_protocol(name)
        t.add_row(
            p.name,
            p.version,
            p.dataset,
            str(len(p.seen)),
            str(len(p.unseen)),
            str(p.train_per_class),
            str(p.query_per_class),
            str(p.seen_query_per_class or "-"),
            str(p.database),
        )
    console().print(t)
    return 0


def cmd_protocol_show(args) -> int:
    from zshbench.protocols import load_protocol, resolve
    from zshbench.runner import load_dataset

    p = load_protocol(args.name)
    con = console()
    con.print(f"[bold]{p.name}[/] version {p.version} (dataset {p.dataset}, content sha256 {p.sha256[:16]})")
    if p.provenance:
        con.print(textwrap.fill(" ".join(p.provenance.split()), 100))
    con.print(f"seen ({len(p.seen)}): {', '.join(p.seen)}")
    con.print(f"unseen ({len(p.unseen)}): {', '.join(p.unseen)}")
    ds = load_dataset(args.dataset or p.dataset, data_root=args.data_root)
    split = resolve(p, ds)
    c = split.counts()
    seen_q = f", seen queries {c['seen_query']}" if "seen_query" in c else ""
    con.print(f"counts: train {c['train']}, query {c['query']}{seen_q}, database {c['database']}")
    con.print(f"split fingerprint: {split.fingerprint}")
    return 0


def cmd_protocol_resample(args) -> int:
    from zshbench.protocols import load_protocol, resolve
    from zshbench.protocols.resample import resample, write_resampled
    from zshbench.runner import load_dataset

    base = load_protocol(args.name)
    splits = resample(base, args.n, args.draw_seed)
    ds = load_dataset(base.dataset, data_root=args.data_root)
    for p in splits:  # every split must resolve (enough items per class) before anything is written
        resolve(p, ds, check_content=False)
    written = write_resampled(splits, args.out, force=args.force)
    con = console()
    for p, path in zip(splits, written):
        con.print(f"{path}: unseen {', '.join(p.unseen)}")
    con.print(f"{len(written)} unpinned split(s) of {base.ref}; run them with --protocol FILE.")
    return 0


def cmd_validate(args) -> int:
    from zshbench.registry import get_method
    from zshbench.testing import expected_failures, iter_checks

    con = console()
    expected = expected_failures(get_method(args.method))
    failed = 0
    for name, check in iter_checks(args.method):
        try:
            check()
        except (AssertionError, UserError) as exc:
            if name in expected:
                con.print(f"[yellow]XFAIL[/] {name}: {expected[name]}")
                continue
            failed += 1
            con.print(f"[red]FAIL[/] {name}: {exc}")
            continue
        if name in expected:
            failed += 1
            con.print(f"[red]XPASS[/] {name}: declared an expected failure ({expected[name]}) but passes")
        else:
            con.print(f"[green]PASS[/] {name}")
    con.print(f"{failed} check(s) failed" if failed else "all checks passed")
    return 1 if failed else 0
