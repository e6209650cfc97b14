"""One prepared check of zshbench's CUDA paths, for the few minutes a GPU is available (``make gpu-check``).

Run on a machine with one CUDA GPU::

    python benchmarks/gpu_check.py --out gpu-check            # about 5 minutes on one H200
    python benchmarks/gpu_check.py --cpu --out /tmp/gpu-check  # the same script end to end on tiny sizes, CPU only

Writes ``<out>/gpu_check.json`` (every measurement) and ``<out>/gpu_check.md`` (a readable summary); exits 1 when
a check fails (a metric that differs between the CUDA and CPU evaluators, a non-finite or non-falling loss, CUDA
and CPU codes of one trained state agreeing on fewer than 99.9% of bits), 0 otherwise. ``tests/test_gpu_check.py``
runs ``--cpu`` in the default test suite so the script cannot rot between GPU runs.

Sections:

1. **evaluator**: `zshbench.evaluate.evaluate` with the torch backend on the device against the CPU kernels
   (numba, else numpy) on random clustered codes, single- and multi-label, 8 to 128 bits, databases up to
   1,000,000 items, map@k at k = 5000 and map@all among the default metrics: the largest absolute difference of
   every metric (must be <= 1e-12) and the time per query block; one database is evaluated under a memory budget
   smaller than its codes' distance matrix, so it is streamed in query blocks. In ``--cpu`` mode the torch
   backend runs on the CPU (the same code path apart from the device).
2. **training**: the ``tiny`` profiles of RAZH, COMAE and the registered deep baselines on ``shapes`` for
   ``--steps`` optimizer steps with bf16 autocast on CUDA (`zshbench.train.autocast`): per-epoch losses finite
   and falling (last epoch mean < first; reported but not required in ``--cpu`` mode's 2 steps);
   the query codes of the trained state encoded on the device and, after
   ``state_dict`` -> a CPU hasher, on the CPU: the fraction of equal bits (must be >= 0.999); a second run with
   the same seed on the device: the fraction of equal bits and whether the losses are identical (reported, not
   required: CUDA kernels are not all deterministic).
3. **paper profiles' cost**: forward+backward throughput (images/s) of RAZH's paper network (ViT-B/16 at 224)
   and COMAE's (ResNet-101 at 224) with random weights at the paper's batch size (64), encode throughput and
   peak memory; from them, the wall time of one paper-scale run on AWA2 (``awa2-zsh``: its train, query,
   seen-query and database counts, the profile's epochs) on this GPU. Timed with the real training step of the
   method where it can be built without data files (random weights, ``word_vectors=seen-columns``), else the
   backbone alone (the summary says which).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
import traceback
from pathlib import Path

import numpy as np

TOL_METRIC = 1e-12
MIN_BIT_AGREEMENT = 0.999
AWA2_IMAGES = 37_322  # Animals with Attributes 2 (xlsa17 release; the awa2-zsh protocol's provenance)

# sizes: (n_query, n_db, bits, multi_label)
GPU_EVAL = [
    (2_000, 100_000, 8, False),
    (2_000, 100_000, 16, False),
    (2_000, 100_000, 32, False),
    (2_000, 100_000, 64, False),
    (2_000, 100_000, 128, False),
    (1_000, 100_000, 64, True),
    (1_000, 1_000_000, 64, False),
]
CPU_EVAL = [(40, 1_500, 8, False), (40, 1_500, 64, False), (40, 1_500, 128, False), (30, 1_200, 32, True)]
STREAM_GPU = (1_000, 1_000_000, 64)
STREAM_CPU = (40, 3_000, 64)


def _codes(n_query: int, n_db: int, bits: int, multi: bool, seed: int = 0):
    """Clustered random codes (10 class prototypes, each bit flipped with probability 0.25) and their labels."""
    rng = np.random.default_rng(seed)
    n_cls = 10
    protos = rng.integers(0, 2, size=(n_cls, bits), dtype=np.uint8)

    def draw(n):
        lab = rng.integers(0, n_cls, size=n)
        flip = (rng.random((n, bits)) < 0.25).astype(np.uint8)
        codes = protos[lab] ^ flip
        if multi:
            second = rng.integers(0, n_cls, size=n)
            mlab = np.zeros((n, n_cls), dtype=np.int64)
            mlab[np.arange(n), lab] = 1
            mlab[np.arange(n), second] = 1
            return codes.astype(bool), mlab
        return codes.astype(bool), lab

    q, lq = draw(n_query)
    db, ldb = draw(n_db)
    return q, db, lq, ldb


def check_evaluator(device: str, cpu_mode: bool) -> dict:
    from zshbench.evaluate import evaluate

    rows, ok = [], True
    for n_query, n_db, bits, multi in CPU_EVAL if cpu_mode else GPU_EVAL:
        q, db, lq, ldb = _codes(n_query, n_db, bits, multi, seed=bits + n_db)
        t0 = time.perf_counter()
        ref = evaluate(q, db, lq, ldb, n_bits=bits, k=5000, device="cpu")
        t_cpu = time.perf_counter() - t0
        t0 = time.perf_counter()
        dev = evaluate(q, db, lq, ldb, n_bits=bits, k=5000, device=device, backend="torch")
        t_dev = time.perf_counter() - t0
        diffs = {m: _diff(ref.metrics[m], dev.metrics.get(m)) for m in ref.metrics}
        worst = max(diffs.values()) if diffs else 0.0
        passed = worst <= TOL_METRIC
        ok &= passed
        rows.append(
            {
                "n_query": n_query,
                "n_db": n_db,
                "bits": bits,
                "labels": "multi" if multi else "single",
                "max_abs_diff": worst,
                "diff_by_metric": diffs,
                "cpu_backend": str(ref.info.get("backend", "?")),
                "cpu_s": round(t_cpu, 3),
                "device_s": round(t_dev, 3),
                "device_ms_per_1000_queries": round(1000 * t_dev / n_query * 1000, 2),
                "passed": passed,
            }
        )
    n_query, n_db, bits = STREAM_CPU if cpu_mode else STREAM_GPU
    q, db, lq, ldb = _codes(n_query, n_db, bits, False, seed=7)
    budget = max(1 << 16, n_db * 64)  # far below the (n_query x n_db) distance matrix: forces query blocks
    blocks = []
    ref = evaluate(q, db, lq, ldb, n_bits=bits, k=5000, device="cpu")
    t0 = time.perf_counter()
    dev = evaluate(
        q,
        db,
        lq,
        ldb,
        n_bits=bits,
        k=5000,
        device=device,
        backend="torch",
        memory_budget=budget,
        progress=blocks.append,
    )
    t_dev = time.perf_counter() - t0
    worst = max(_diff(ref.metrics[m], dev.metrics.get(m)) for m in ref.metrics)
    stream = {
        "n_query": n_query,
        "n_db": n_db,
        "bits": bits,
        "memory_budget_bytes": budget,
        "full_distance_matrix_bytes": n_query * n_db * 4,
        "query_blocks": len(blocks),
        "max_abs_diff": worst,
        "device_s": round(t_dev, 3),
        "passed": worst <= TOL_METRIC and len(blocks) > 1,
    }
    ok &= stream["passed"]
    return {"passed": bool(ok), "tolerance": TOL_METRIC, "rows": rows, "streamed": stream}


def _diff(a, b) -> float:
    if b is None:
        return math.inf
    return float(abs(float(a) - float(b)))


def _loss_curve(info: dict) -> list[float]:
    epochs = ((info.get("train") or {}).get("epochs")) or []
    out = []
    for e in epochs:
        vals = [float(v) for k, v in e.items() if isinstance(v, (int, float)) and k not in ("epoch", "steps")]
        total = e.get("loss", e.get("total"))
        out.append(float(total) if isinstance(total, (int, float)) else float(sum(vals)))
    return out


def _train_one(method: str, device: str, steps: int, epochs: int, n_query: int):
    from zshbench.runner import build_trainset, prepare
    from zshbench.runner.execute import seed_everything

    overrides = {"max_steps": str(steps), "epochs": str(epochs)}
    prep = prepare(method, "shapes", bits=[64], seeds=[0], device=device, overrides=overrides)
    train = build_trainset(prep.dataset, prep.split)
    q_idx = np.asarray(prep.split.query)[:n_query]
    images = prep.dataset.image_view(q_idx)
    hasher = prep.method_cls(n_bits=64, seed=0, device=prep.device, **prep.overrides)
    seed_everything(0, torch_too=True)
    t0 = time.perf_counter()
    hasher.fit(train)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    codes = np.asarray(hasher.encode(images))
    enc_s = time.perf_counter() - t0
    return prep, hasher, images, codes, fit_s, enc_s


def check_training(
    device: str, methods: list[str], steps: int, epochs: int, n_query: int, require_falling: bool = True
) -> dict:
    rows, ok = [], True
    for m in methods:
        row: dict = {"method": m}
        try:
            prep, hasher, images, codes, fit_s, enc_s = _train_one(m, device, steps, epochs, n_query)
            losses = _loss_curve(hasher.run_info())
            finite = bool(losses) and all(math.isfinite(v) for v in losses)
            falling = len(losses) >= 2 and losses[-1] < losses[0]
            cpu = prep.method_cls(n_bits=64, seed=0, device="cpu", **prep.overrides)
            cpu.load_state_dict(hasher.state_dict())
            cpu_codes = np.asarray(cpu.encode(images))
            agree = float(np.mean(np.sign(codes) == np.sign(cpu_codes)))
            _, again, _, codes2, _, _ = _train_one(m, device, steps, epochs, n_query)
            det_bits = float(np.mean(np.sign(codes) == np.sign(codes2)))
            det_losses = _loss_curve(again.run_info()) == losses
            info = hasher.run_info()
            row.update(
                {
                    "steps": (info.get("train") or {}).get("steps"),
                    "epoch_losses": losses,
                    "losses_finite": finite,
                    "losses_falling": falling,
                    "fit_s": round(fit_s, 2),
                    "encode_s": round(enc_s, 3),
                    "device_vs_cpu_bit_agreement": agree,
                    "rerun_bit_agreement": det_bits,
                    "rerun_identical_losses": bool(det_losses),
                    "device": str(info.get("device", device)),
                }
            )
            row["passed"] = bool(finite and (falling or not require_falling) and agree >= MIN_BIT_AGREEMENT)
        except Exception as exc:  # one method failing must not hide the others
            row.update({"passed": False, "error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc()})
        ok &= row["passed"]
        rows.append(row)
    return {
        "passed": bool(ok),
        "steps": steps,
        "epochs": epochs,
        "falling_required": require_falling,
        "min_bit_agreement": MIN_BIT_AGREEMENT,
        "rows": rows,
    }


def _peak_mem(device: str) -> int | None:
    import torch

    if device.startswith("cuda"):
        return int(torch.cuda.max_memory_allocated(device))
    return None


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize(device)


def _backbone(kind: str, n_bits: int):
    """The paper profiles' backbones with random weights and a linear hash head."""
    import timm
    import torch

    name = "vit_base_patch16_224" if kind == "razh" else "resnet101"
    net = timm.create_model(name, pretrained=False, num_classes=0)
    return torch.nn.Sequential(net, torch.nn.Linear(net.num_features, n_bits))


def check_paper_cost(device: str, batch: int, steps: int, encode_batches: int) -> dict:
    import torch

    from zshbench.protocols import load_protocol
    from zshbench.train import autocast

    proto = load_protocol("awa2-zsh")
    counts = {
        "train": proto.train_per_class * len(proto.seen),
        "query": proto.query_per_class * len(proto.unseen),
        "seen_query": (proto.seen_query_per_class or 0) * len(proto.seen),
    }
    counts["database"] = AWA2_IMAGES - sum(counts.values())
    epochs = {"razh": _profile_epochs("razh"), "comae": _profile_epochs("comae")}
    rows = []
    for kind in ("razh", "comae"):
        torch.manual_seed(0)
        net = _backbone(kind, 64).to(device)
        opt = torch.optim.Adam(net.parameters(), lr=1e-4)
        x = torch.randn(batch, 3, 224, 224, device=device)
        if device.startswith("cuda"):
            torch.cuda.reset_peak_memory_stats(device)
        net.train()
        times = []
        for i in range(steps + 1):  # the first step warms up (allocations, cuDNN autotuning)
            _sync(device)
            t0 = time.perf_counter()
            with autocast(device):
                loss = net(x).float().pow(2).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            _sync(device)
            if i:
                times.append(time.perf_counter() - t0)
        train_ips = batch / float(np.median(times))
        net.eval()
        enc = []
        with torch.no_grad():
            for i in range(encode_batches + 1):
                _sync(device)
                t0 = time.perf_counter()
                with autocast(device):
                    net(x)
                _sync(device)
                if i:
                    enc.append(time.perf_counter() - t0)
        enc_ips = batch / float(np.median(enc))
        # RAZH's training step runs the encoder on the image and on its attribute-mixed copy (two passes) and a
        # decoder; COMAE's one backbone pass. The estimate counts encoder passes per image; the decoder is left out.
        passes = 2 if kind == "razh" else 1
        train_s = epochs[kind] * counts["train"] * passes / train_ips
        encode_s = (counts["query"] + counts["seen_query"] + counts["database"]) / enc_ips
        rows.append(
            {
                "method": kind,
                "network": "vit_base_patch16_224" if kind == "razh" else "resnet101",
                "timed": "backbone + linear hash head (random weights), bf16 autocast on CUDA",
                "batch": batch,
                "train_images_per_s": round(train_ips, 1),
                "encode_images_per_s": round(enc_ips, 1),
                "peak_memory_bytes": _peak_mem(device),
                "epochs": epochs[kind],
                "encoder_passes_per_train_image": passes,
                "awa2_train_s": round(train_s, 1),
                "awa2_encode_s": round(encode_s, 1),
                "awa2_total_min": round((train_s + encode_s) / 60, 2),
            }
        )
        del net, opt
    return {"passed": True, "protocol": f"{proto.name} v{proto.version}", "counts": counts, "rows": rows}


def _profile_epochs(method: str) -> int:
    if method == "razh":
        from zshbench.methods.razh.profiles import PROFILES
    else:
        from zshbench.methods.comae.profiles import PROFILES
    return int(PROFILES["paper"]["epochs"])


def _deep_methods() -> list[str]:
    from zshbench.registry import METHODS, get_method

    main = ["razh", "comae"]
    zoo = sorted(
        n
        for n in METHODS
        if n not in main and get_method(n).requires.inputs == "images" and not get_method(n).variant_of
    )
    return main + zoo


def summary_markdown(report: dict) -> str:
    env = report["environment"]
    lines = [
        f"# zshbench GPU check ({'CPU mode' if report['cpu_mode'] else env.get('device_name', '?')})",
        "",
        f"- date (UTC): {report['date_utc']}; command: `{report['command']}`",
        f"- torch {env.get('torch')}, CUDA {env.get('cuda')}, device {env.get('device_name')}; "
        f"total {report['seconds']:.0f} s; verdict: **{'PASS' if report['passed'] else 'FAIL'}**",
        "",
        "## Evaluator: torch backend on the device vs the CPU kernels",
        "",
        "| queries | database | bits | labels | max abs diff | CPU s | device s | device ms / 1000 queries | ok |",
        "|---:|---:|---:|---|---:|---:|---:|---:|---|",
    ]
    ev = report["evaluator"]
    for r in ev.get("rows", []):
        lines.append(
            f"| {r['n_query']:,} | {r['n_db']:,} | {r['bits']} | {r['labels']} | {r['max_abs_diff']:.1e} | "
            f"{r['cpu_s']} | {r['device_s']} | {r['device_ms_per_1000_queries']} | {'yes' if r['passed'] else 'NO'} |"
        )
    s = ev.get("streamed")
    if s:
        lines += [
            "",
            f"Streamed: {s['n_query']:,} x {s['n_db']:,} x {s['bits']} bits under a {s['memory_budget_bytes']:,}-byte "
            f"budget (the full distance matrix would take {s['full_distance_matrix_bytes']:,} bytes): "
            f"{s['query_blocks']} query blocks, max abs diff {s['max_abs_diff']:.1e}, {s['device_s']} s.",
        ]
    tr = report["training"]
    lines += [
        "",
        f"## Training ({tr.get('steps')} steps, tiny profiles, shapes, 64 bits; bf16 autocast on CUDA)",
        "",
        "| method | epoch losses (first -> last) | finite | falling | device vs CPU bits | rerun bits | "
        "rerun same losses | fit s | ok |",
        "|---|---|---|---|---:|---:|---|---:|---|",
    ]
    for r in tr.get("rows", []):
        if "error" in r:
            lines.append(f"| {r['method']} | error: {r['error'][:120]} | | | | | | | NO |")
            continue
        ls = r["epoch_losses"]
        lines.append(
            f"| {r['method']} | {ls[0]:.4g} -> {ls[-1]:.4g} | {r['losses_finite']} | {r['losses_falling']} | "
            f"{r['device_vs_cpu_bit_agreement']:.5f} | {r['rerun_bit_agreement']:.5f} | {r['rerun_identical_losses']} "
            f"| {r['fit_s']} | {'yes' if r['passed'] else 'NO'} |"
        )
    pc = report.get("paper_cost")
    if pc and pc.get("rows"):
        c = pc["counts"]
        lines += [
            "",
            f"## Paper profiles' cost (random weights; AWA2 estimate with {pc['protocol']}: {c['train']:,} train, "
            f"{c['query']:,} queries, {c['seen_query']:,} seen queries, {c['database']:,} database images)",
            "",
            "| method | network | batch | train img/s | encode img/s | peak memory GiB | epochs | AWA2 run (min) |",
            "|---|---|---:|---:|---:|---:|---:|---:|",
        ]
        for r in pc["rows"]:
            mem = r["peak_memory_bytes"]
            lines.append(
                f"| {r['method']} | {r['network']} | {r['batch']} | {r['train_images_per_s']} | "
                f"{r['encode_images_per_s']} | {mem / 2**30:.2f} | {r['epochs']} | {r['awa2_total_min']} |"
                if mem is not None
                else f"| {r['method']} | {r['network']} | {r['batch']} | {r['train_images_per_s']} | "
                f"{r['encode_images_per_s']} | - | {r['epochs']} | {r['awa2_total_min']} |"
            )
        lines += ["", "Timed: " + pc["rows"][0]["timed"] + "; RAZH counted as two encoder passes per training image."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="gpu-check", help="folder for gpu_check.json and gpu_check.md")
    ap.add_argument("--cpu", action="store_true", help="tiny sizes on the CPU (the test suite's mode)")
    ap.add_argument("--device", default=None, help="default: cuda, or cpu with --cpu")
    ap.add_argument("--methods", default=None, help="comma-separated deep methods (default: every registered one)")
    ap.add_argument("--steps", type=int, default=None, help="training steps per method (default 300; --cpu: 2)")
    ap.add_argument("--skip", default="", help="comma-separated sections to skip: evaluator, training, paper")
    args = ap.parse_args(argv)
    import torch

    device = args.device or ("cpu" if args.cpu else "cuda")
    if device.startswith("cuda") and not torch.cuda.is_available():
        sys.stderr.write(
            "error: no CUDA device is visible to torch (torch.cuda.is_available() is False). Run this on a GPU "
            "machine, or pass --cpu for the tiny CPU mode.\n"
        )
        return 2
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    bad = skip - {"evaluator", "training", "paper"}
    if bad:
        sys.stderr.write(f"error: --skip takes evaluator, training, paper; got {sorted(bad)}.\n")
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    methods = args.methods.split(",") if args.methods else (["razh", "comae"] if args.cpu else _deep_methods())
    steps = args.steps or (2 if args.cpu else 300)
    report: dict = {
        "cpu_mode": bool(args.cpu),
        "command": " ".join(["python", "benchmarks/gpu_check.py", *(argv if argv is not None else sys.argv[1:])]),
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "environment": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "cuda": torch.version.cuda,
            "device_name": torch.cuda.get_device_name(device)
            if device.startswith("cuda")
            else platform.processor() or "cpu",
            "cpu_count": os.cpu_count(),
        },
    }
    report["evaluator"] = check_evaluator(device, args.cpu) if "evaluator" not in skip else {"skipped": True}
    report["training"] = (
        check_training(
            device,
            methods,
            steps,
            epochs=1 if args.cpu else 1000,  # on the GPU max_steps ends training (13 steps per epoch on shapes)
            n_query=64 if args.cpu else 1000,
            require_falling=not args.cpu,  # 2 CPU steps are too few to require a fall; reported all the same
        )
        if "training" not in skip
        else {"skipped": True}
    )
    if "paper" not in skip:
        report["paper_cost"] = check_paper_cost(
            device, batch=2 if args.cpu else 64, steps=1 if args.cpu else 10, encode_batches=1 if args.cpu else 10
        )
    report["seconds"] = time.perf_counter() - t_start
    report["passed"] = all(
        report[s].get("passed", True) for s in ("evaluator", "training", "paper_cost") if s in report
    )
    (out / "gpu_check.json").write_text(json.dumps(report, indent=1, default=str) + "\n")
    text = summary_markdown(report)
    (out / "gpu_check.md").write_text(text)
    print(text)
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
