"""Cost of a fitted hasher: parameter count and FLOPs to encode one item (RAZH's Table III), for the record.

`measure_complexity(hasher, sample)` returns the ``complexity`` block of a result record (schema 2)::

    {"params": 1234,              # learned numbers of the fitted hasher (all of them)
     "params_encode": 1234,       # those the encode path reads (deep methods; = params for shallow ones)
     "flops_per_image": 5678,     # FLOPs of encoding ONE item (an image, or a feature vector)
     "counter": "torch.utils.flop_counter.FlopCounterMode",   # or "analytic", "hook", "none"
     "convention": "...", "input": "image 32x32x3 uint8"}

How each number is obtained, in order of preference:

1. **hook**: a hasher may define ``complexity(sample) -> dict`` with ``params`` and ``flops_per_image`` (and any
   note); it is used as is (``counter`` defaults to "hook").
2. **deep methods** (a fitted ``torch.nn.Module`` in ``model_``): one item goes through the real encode path
   (``hasher._encode_batch``: preprocessing, network, hash layer) under
   ``torch.utils.flop_counter.FlopCounterMode``. That counter counts matrix products and convolutions
   (mm, addmm, bmm, convolution, scaled-dot-product attention, including its CPU kernel, registered here) with
   **one multiply-add = 2 FLOPs**; element-wise
   work (normalisation, activations, softmax outside fused attention, resizing) is not counted, as in the
   usual "FLOPs" of papers. ``params`` counts every parameter of ``model_`` (training-only parts included, e.g.
   RAZH's decoder); ``params_encode`` counts the parameters whose storage the encode path reads (recorded by a
   dispatch mode during the same pass).
3. **shallow feature methods**: analytic, with the same convention: a linear projection ``(x - mean) @ W``
   with W of shape (D, c) costs 2 * D * c FLOPs (LSH, PCAH, ITQ: c = n_bits; SH: c = its principal
   directions; SH's per-bit sinusoids are element-wise and not counted). ``params`` = the numbers in the
   fitted state (``_get_state``: mean, projection, ...). The FLOPs of the feature extractor that turns an image
   into the vector are not included (``input`` says "feature vector").
4. otherwise ``params`` from the fitted state when there is one, ``flops_per_image`` None, ``counter`` "none".

Cost: one item through the encoder once (about 0.1 s for the tiny profiles on a CPU core; one ViT-B/16 forward
pass for RAZH's paper profile). Measured here for timm's ``vit_base_patch16_224`` (one 224 x 224 image): 35.13
GFLOPs under this convention, i.e. 17.56 G multiply-adds. RAZH's FLOPs are quoted as 16.86 G (in issue 6; the
paper's table itself was not read here), which looks like a multiply-add count made with another tool: compare
papers' numbers with ours divided by 2, and only roughly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["measure_complexity", "FLOP_CONVENTION"]

FLOP_CONVENTION = (
    "one multiply-add = 2 FLOPs; matrix products and convolutions only (torch.utils.flop_counter conventions), "
    "element-wise operations not counted"
)


def _describe(sample: Any) -> str:
    shape = tuple(np.asarray(sample).shape)[1:]
    dtype = np.asarray(sample).dtype
    if len(shape) == 1:
        return f"feature vector ({shape[0]}-d)"
    return "image " + "x".join(str(s) for s in shape) + f" {dtype}"


def _state_size(hasher: Any) -> int | None:
    try:
        state = hasher._get_state()
    except (NotImplementedError, AttributeError):
        return None
    total = 0
    for v in state.values():
        if isinstance(v, np.ndarray) and v.dtype.kind in "biuf":
            total += int(v.size)
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            total += 1
        elif hasattr(v, "numel"):  # a torch tensor
            total += int(v.numel())
    return total


def _cpu_attention_mapping() -> dict:
    """FlopCounterMode has no formula for the CPU kernel of fused attention
    (``aten._scaled_dot_product_flash_attention_for_cpu``, what timm's ViT calls on the CPU), so attention would
    count 0 FLOPs on the CPU but not on CUDA; register the same formula (QK^T and AV products) for it."""
    import torch
    from torch.utils.flop_counter import sdpa_flop_count

    op = getattr(torch.ops.aten, "_scaled_dot_product_flash_attention_for_cpu", None)
    if op is None:  # pragma: no cover - older torch
        return {}

    def flops(query, key, value, *args, out_shape=None, **kwargs) -> int:
        shape = lambda t: tuple(getattr(t, "shape", t))  # noqa: E731 - shapes or tensors, by torch version
        return sdpa_flop_count(shape(query), shape(key), shape(value))

    return {op: flops}


def _torch_complexity(hasher: Any, sample: Any) -> dict[str, Any]:
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils.flop_counter import FlopCounterMode

    model = hasher.model_
    params = list(model.parameters())

    class _Touched(TorchDispatchMode):
        """Storage pointers of every tensor an operator reads."""

        def __init__(self):
            super().__init__()
            self.ptrs: set[int] = set()

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            for a in list(args) + list(kwargs.values()):
                for t in a if isinstance(a, (list, tuple)) else (a,):
                    if isinstance(t, torch.Tensor) and t.device.type != "meta":
                        try:
                            self.ptrs.add(t.untyped_storage().data_ptr())
                        except (RuntimeError, NotImplementedError):
                            pass
            return func(*args, **kwargs)

    counter = FlopCounterMode(display=False, custom_mapping=_cpu_attention_mapping())
    touched = _Touched()
    with torch.no_grad(), counter, touched:
        hasher._encode_batch(sample)
    # parameters may share a storage (weight tying): count each storage once
    seen_ptrs: set[int] = set()
    n_encode = 0
    for p in params:
        ptr = p.untyped_storage().data_ptr()
        if ptr in touched.ptrs and ptr not in seen_ptrs:
            n_encode += p.numel()
        seen_ptrs.add(ptr)
    return {
        "params": int(sum(p.numel() for p in params)),
        "params_encode": int(n_encode),
        "flops_per_image": int(counter.get_total_flops()),
        "counter": "torch.utils.flop_counter.FlopCounterMode",
    }


def _analytic_complexity(hasher: Any) -> dict[str, Any] | None:
    proj = getattr(hasher, "projection_", None)
    if proj is None:
        proj = getattr(hasher, "pc_", None)  # SH: PCA directions, then element-wise sinusoids
    if proj is None or np.ndim(proj) != 2:
        return None
    d, c = np.shape(proj)
    n = _state_size(hasher)
    return {"params": n, "params_encode": n, "flops_per_image": int(2 * d * c), "counter": "analytic"}


def measure_complexity(hasher: Any, sample: Any) -> dict[str, Any]:
    """The ``complexity`` block of a record for a FITTED ``hasher`` (see the module docstring).

    Args:
        hasher: a fitted `zshbench.hasher.Hasher`.
        sample: ONE item as the hasher encodes it: a (1, D) feature array, a (1, H, W, C) uint8 image array or a
            one-item `ImageView`.

    Returns:
        dict with ``params``, ``params_encode``, ``flops_per_image`` (int or None), ``counter``, ``convention``
        and ``input``.

    Example:
        >>> measure_complexity(fitted_lsh, features[:1])["flops_per_image"]  # 2 * D * n_bits
    """
    x = hasher._prepare_inputs(sample)[0:1]
    out: dict[str, Any] | None = None
    counted = hasher.complexity(x)  # the method's own count (Hasher.complexity), None when it has none
    if counted is not None:
        out = dict(counted)
        out.setdefault("counter", "hook")
    elif getattr(hasher, "model_", None) is not None and hasattr(hasher.model_, "parameters"):
        try:
            out = _torch_complexity(hasher, x)
        except (RuntimeError, NotImplementedError, TypeError) as exc:  # an operator the counter cannot trace
            out = {
                "params": int(sum(p.numel() for p in hasher.model_.parameters())),
                "flops_per_image": None,
                "counter": f"failed: {type(exc).__name__}: {str(exc)[:200]}",
            }
    else:
        out = _analytic_complexity(hasher)
    if out is None:
        n = _state_size(hasher)
        out = {"params": n, "params_encode": n, "flops_per_image": None, "counter": "none"}
    out.setdefault("params_encode", out.get("params"))
    for key in ("params", "params_encode", "flops_per_image"):
        if out.get(key) is not None:
            out[key] = int(out[key])
    out.setdefault("params", None)
    out.setdefault("flops_per_image", None)
    out["convention"] = FLOP_CONVENTION
    try:
        out["input"] = _describe(np.asarray(x[0:1]) if not isinstance(x, np.ndarray) else x)
    except (TypeError, ValueError):  # pragma: no cover - exotic inputs
        out["input"] = type(x).__name__
    return out
