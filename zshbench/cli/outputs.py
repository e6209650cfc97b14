"""``zshbench encode`` (a saved hasher -> codes of a dataset part) and ``zshbench retrieve`` (a montage of
queries and their nearest database items)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np

from zshbench.cli.common import console
from zshbench.errors import UserError

__all__ = ["add_parsers", "cmd_encode", "cmd_retrieve"]

ENCODE_EPILOG = """\
examples:
  zshbench run --method itq --dataset shapes --bits 64 --results results --save-model
  zshbench encode --model results/shapes/shapes-zsh/itq/b64-s0-<id>.model.safetensors --dataset shapes \\
      --part all --out codes/itq-shapes.npz
"""

RETRIEVE_EPILOG = """\
examples:
  zshbench run --method itq --dataset shapes --bits 64 --results results --save-codes
  zshbench retrieve --record results/shapes/shapes-zsh/itq/b64-s0-<id>.json --queries 5 --top 10 \\
      --out figures/retrieval.png
  zshbench retrieve --record results/shapes/shapes-zsh/itq/b64-s0-<id>.json --query 4021 --top 10 \\
      --out figures/query-4021.png          # one query, by its dataset index (as in the per-query results)
  zshbench retrieve --codes codes/itq-shapes.npz --queries 5 --out figures/retrieval.png   # from 'encode'
"""

MAX_QUERIES, MAX_TOP = 50, 50
# the name `zshbench run --save-model` gives a model: <results>/<dataset>/<protocol>/<method>/b<bits>-s<seed>-<id>
_RUN_MODEL = re.compile(r"b(\d+)-s(\d+)-[0-9a-f]{16}\.model\.(safetensors|npz|pt)")


def add_parsers(sub) -> None:
    e = sub.add_parser(
        "encode",
        help="encode a dataset part with a saved hasher (zshbench run --save-model) into a codes file",
        epilog=ENCODE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    e.add_argument(
        "--model", required=True, help="a hasher saved by 'zshbench run --save-model' (.safetensors, .npz or .pt)"
    )
    e.add_argument("--dataset", required=True)
    e.add_argument("--protocol", default=None, help="default: the dataset's default protocol")
    e.add_argument("--part", default="all", choices=["query", "database", "train", "all"])
    e.add_argument("--out", required=True, help="the codes file to write (.npz)")
    e.add_argument("--method", default=None, help="refuse the model unless it was saved by this method")
    e.add_argument("--bits", type=int, default=None, help="refuse the model unless its codes have this many bits")
    e.add_argument("--features", default="auto", help="feature spec of feature-based methods, as given to 'run'")
    e.add_argument("--weights", default=None, help="backbone weights of --features timm:<model>, as given to 'run'")
    e.add_argument("--data-root", default=None)
    e.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")

    r = sub.add_parser(
        "retrieve",
        help="a PNG montage of queries and their top-k database items by Hamming distance",
        epilog=RETRIEVE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    src = r.add_mutually_exclusive_group(required=True)
    src.add_argument("--record", default=None, help="a run's record (.json) saved with --save-codes")
    src.add_argument("--codes", default=None, help="a codes file with query and database codes (.npz)")
    r.add_argument("--dataset", default=None, help="the dataset the codes were made on (default: the file's)")
    which = r.add_mutually_exclusive_group()
    which.add_argument(
        "--queries", type=int, default=5, help=f"number of queries drawn, one row each (1..{MAX_QUERIES})"
    )
    which.add_argument(
        "--query",
        type=int,
        nargs="+",
        default=None,
        metavar="N",
        help="these queries, by dataset index (the per-query results' query_index), one row each",
    )
    r.add_argument("--top", type=int, default=10, help=f"retrieved items per query (1..{MAX_TOP})")
    r.add_argument("--seed", type=int, default=0, help="seed of the query draw (one query per class first)")
    r.add_argument("--out", required=True, help="the PNG to write")
    r.add_argument("--data-root", default=None)


def _check_model_name(path: Path, sd: dict) -> None:
    """A model named as 'run --save-model' names it must hold what its name and folder say."""
    m = _RUN_MODEL.fullmatch(path.name)
    if not m:
        return
    saved_bits, saved_method = sd.get("config", {}).get("n_bits"), sd.get("method")
    from zshbench.registry import METHODS

    folder = path.parent.name
    if int(m.group(1)) != saved_bits or (folder in METHODS.names() and folder != saved_method):
        raise UserError(
            f"--model {path}: its name says {folder if folder in METHODS.names() else 'a model'} with "
            f"{m.group(1)} bits, but the file holds a '{saved_method}' hasher with {saved_bits} bits: it was "
            "renamed or copied over another run's model. Use the model written beside the run's record."
        )


def load_model(path: str, device: str = "cpu", method: str | None = None, bits: int | None = None):
    """The fitted hasher saved at ``path``, refused when it is not what its file or the flags say.

    Raises:
        UserError: a missing or unreadable file, an unknown method, a state that does not give the codes its
            config says, or a --method/--bits that does not match.
    """
    from zshbench.hasher import read_saved_state
    from zshbench.registry import get_method

    p = Path(path)
    if not p.is_file():
        raise UserError(
            f"--model {p}: no such file. Save a model with 'zshbench run ... --save-model'; it is written beside "
            "the run's record as <record stem>.model.safetensors."
        )
    sd = read_saved_state(p)
    saved_method, saved_bits = sd.get("method"), sd.get("config", {}).get("n_bits")
    if method is not None and method != saved_method:
        raise UserError(f"--model {p} holds a '{saved_method}' hasher, not '{method}' (--method); use its model.")
    if bits is not None and bits != saved_bits:
        raise UserError(f"--model {p} makes {saved_bits}-bit codes, not {bits} (--bits); use the {bits}-bit model.")
    _check_model_name(p, sd)
    cls = get_method(str(saved_method))
    try:
        h = cls(device=device).load_state_dict(sd)
    except UserError:
        raise
    except Exception as exc:  # noqa: BLE001 - a damaged state raises many types
        raise UserError(
            f"--model {p}: its '{saved_method}' state cannot be loaded ({type(exc).__name__}: {exc}); the file is "
            "damaged or was written by another version of the method. Save it again with 'zshbench run "
            "--save-model'."
        ) from None
    return h, sd


def _probe(h, x, path) -> None:
    """Encode one item: a state inconsistent with the file's n_bits (an edited file) is refused before work."""
    try:
        h.encode(x)
    except UserError:
        raise
    except RuntimeError as exc:
        raise UserError(
            f"--model {path}: says {h.n_bits} bits, but its learned state does not make {h.n_bits}-bit codes "
            f"({exc}). The file was edited or damaged; save it again with 'zshbench run --save-model'."
        ) from None


def cmd_encode(args) -> int:
    from zshbench.artifacts import PARTS, check_out_file, write_codes_file
    from zshbench.hasher import RUN_KEYS
    from zshbench.runner import prepare

    out = check_out_file(args.out, "--out", (".npz",))
    h, sd = load_model(args.model, "cpu", args.method, args.bits)
    overrides = {k: v for k, v in sd["config"].items() if k not in RUN_KEYS}
    prep = prepare(
        h.name,
        args.dataset,
        protocol=args.protocol,
        bits=[h.n_bits],
        seeds=[int(h.config.seed)],
        device=args.device,
        overrides=overrides,
        features=args.features,
        data_root=args.data_root,
        weights=args.weights,
    )
    if prep.device != "cpu":  # deep methods: load again onto the device
        h, _ = load_model(args.model, prep.device)
    ds, split = prep.dataset, prep.split
    d_in = getattr(h, "n_features_in_", None)
    shape = getattr(ds, "image_shape", None)
    if prep.feature_spec == "pixels" and d_in is not None and shape and int(np.prod(shape)) != d_in:
        raise UserError(
            f"--model {args.model} was fitted on {d_in}-d features, but --features pixels of '{ds.name}' gives "
            f"{int(np.prod(shape))}-d ones: encode the dataset (and features) it was trained with."
        )
    if d_in is not None:
        _probe(h, np.zeros((1, d_in), dtype=np.float32), args.model)
    parts = list(PARTS) if args.part == "all" else [args.part]
    con = console(stderr=True)
    arrays = {}
    for part in parts:
        idx = np.asarray(getattr(split, part))
        if prep.feature_spec is not None:
            from zshbench.features import extract_features

            key = f"{ds.fingerprint()}:{split.fingerprint}:{part}"
            x = extract_features(ds, idx, prep.feature_spec, device=prep.device, weights=args.weights, cache_key=key)
        else:
            x = ds.image_view(idx)
            _probe(h, x.subset([0]) if len(x) else x, args.model)
        arrays[part] = (h.encode(x), idx, ds.labels[idx])
        con.print(f"encoded {part}: {len(idx)} items", highlight=False)
    write_codes_file(
        out,
        arrays,
        n_bits=h.n_bits,
        method=h.name,
        dataset=ds.name,
        protocol=prep.protocol.name,
        class_names=ds.class_names,
    )
    console().print(f"wrote {out} ({', '.join(parts)}; {h.name}, {h.n_bits} bits, {ds.name})", highlight=False)
    return 0


def _record_codes(path: str) -> tuple[str, dict[str, float]]:
    """(codes file, {query dataset index: AP}) of the record at ``path``, checked against each other."""
    from zshbench.artifacts import codes_path, read_codes_file
    from zshbench.records import load_record
    from zshbench.records.sidecar import load_per_query

    rec = load_record(path)
    cpath = codes_path(path)
    if not cpath.is_file():
        raise UserError(
            f"--record {path} was run without --save-codes: there is no {cpath.name} beside it. Run it again with "
            f"'zshbench run --method {rec.method} --dataset {rec.dataset} --bits {rec.n_bits} --seeds {rec.seed} "
            "... --save-codes' (the run is made again; its record keeps its identity)."
        )
    data = read_codes_file(cpath, need=("query", "database"))
    said = (rec.method, rec.n_bits, rec.dataset, rec.protocol.get("name"))
    held = (data["method"], data["n_bits"], data["dataset"], data["protocol"])
    if said != held:
        raise UserError(
            f"{cpath} holds codes of {held[0]}, {held[1]} bits, {held[2]}/{held[3]}, but its record {path} is "
            f"{said[0]}, {said[1]} bits, {said[2]}/{said[3]}: the file was copied over another run's. Run the "
            "record's run again with --save-codes."
        )
    ap: dict[str, float] = {}
    if rec.per_query:
        k = (rec.evaluation or {}).get("k")
        pq = load_per_query(rec)
        key = next((c for c in (f"ua.map@{k}", "ua.map@all") if c in pq), None)
        if key is not None and "ua.query_index" in pq:
            name = key.split(".", 1)[1].replace("map@", "AP@")
            ap = {int(i): f"{name} {float(v):.2f}" for i, v in zip(pq["ua.query_index"], pq[key])}
    return str(cpath), ap


def cmd_retrieve(args) -> int:
    from zshbench.artifacts import check_out_file, read_codes_file
    from zshbench.fileio import atomic_write_bytes
    from zshbench.retrieval import montage_png, pick_queries, top_k
    from zshbench.runner import load_dataset

    checks = [("--top", args.top, MAX_TOP)]
    checks += [("--queries", args.queries, MAX_QUERIES)] if args.query is None else []
    for flag, value, most in checks:
        if not 1 <= value <= most:
            raise UserError(f"{flag} {value} is out of range: give 1 to {most} (a montage row per query).")
    if args.query is not None and len(args.query) > MAX_QUERIES:
        raise UserError(f"--query names {len(args.query)} queries; give at most {MAX_QUERIES} (a row each).")
    out = check_out_file(args.out, "--out", (".png",))
    codes_file, notes = _record_codes(args.record) if args.record else (args.codes, {})
    flag = "--record" if args.record else "--codes"
    data = read_codes_file(codes_file, need=("query", "database"))
    name = args.dataset or data["dataset"]
    if name != data["dataset"]:
        raise UserError(
            f"{flag} {args.record or args.codes} holds codes of dataset '{data['dataset']}', not '{name}' "
            f"(--dataset): the indices would point at other images. Use --dataset {data['dataset']}, or encode "
            f"'{name}'."
        )
    if args.query is not None:
        where = {int(i): p for p, i in enumerate(data["query_index"])}
        missing = [q for q in args.query if q not in where]
        if missing:
            shown = ", ".join(str(int(i)) for i in data["query_index"][:5])
            raise UserError(
                f"--query {' '.join(map(str, missing))}: not a query of {codes_file} (--query takes dataset "
                f"indices of the query part, as in the per-query results' query_index; this file's queries "
                f"start {shown}, ...). Use one of its queries, or --queries N to draw N."
            )
    ds = load_dataset(name, data_root=args.data_root)
    if not ds.has_images:
        raise UserError(f"Dataset '{ds.name}' ships features only; a retrieval montage needs its images.")
    for part in ("query", "database"):
        idx, lab = data[f"{part}_index"], data[f"{part}_labels"]
        if len(idx) and (idx.min() < 0 or idx.max() >= len(ds.labels) or not np.array_equal(ds.labels[idx], lab)):
            raise UserError(
                f"{flag} {codes_file}: its {part} indices and labels do not match dataset '{ds.name}' as loaded "
                "here (another version or data root?). Encode the dataset again with 'zshbench encode'."
            )
    if not len(data["query_index"]) or not len(data["database_index"]):
        raise UserError(f"{codes_file} has no query or no database codes; there is nothing to retrieve.")
    if args.query is not None:
        qpos = np.asarray([where[q] for q in args.query], dtype=np.int64)
    else:
        qpos = pick_queries(data["query_labels"], args.queries, args.seed)
    qimgs = ds.image_view(data["query_index"][qpos]).take(np.arange(len(qpos)))
    results = []
    top = min(args.top, len(data["database_index"]))
    for i in qpos:
        pos, dist = top_k(data["query_codes"][i], data["database_codes"], top)
        imgs = ds.image_view(data["database_index"][pos]).take(np.arange(len(pos)))
        results.append((imgs, data["database_labels"][pos], dist))
    title = f"{data['method']}, {data['n_bits']} bits, {ds.name} / {data['protocol']}: top {top} by Hamming distance"
    row_notes = [
        f"#{int(data['query_index'][i])}" + (f", {notes[int(data['query_index'][i])]}" if notes else "") for i in qpos
    ]
    png = montage_png(qimgs, data["query_labels"][qpos], results, ds.class_names, title=title, row_notes=row_notes)
    atomic_write_bytes(out, png)
    console().print(f"wrote {out} ({len(qpos)} queries x top {top})", highlight=False)
    return 0
