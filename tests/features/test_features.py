"""The feature stage: specs, timm backbones (random init / checkpoint files / unavailable pretrained weights)
and the on-disk cache (hits, and corrupt or mismatched entries detected and rebuilt)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

import zshbench
from zshbench.datasets.base import ArrayDataset
from zshbench.errors import UserError
from zshbench.features import backbone, describe, extract_features, parse_spec, resolve_spec, store, weights_fingerprint

MODEL = "test_resnet"  # timm's tiny test network (~0.2M parameters, 160 px input)
SPEC = f"timm:{MODEL}"


@pytest.fixture(scope="module")
def digits():
    return zshbench.get_dataset("digits")()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ZSHBENCH_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "features"


def _model(seed: int, num_classes: int = 0):
    import timm
    import torch

    torch.manual_seed(seed)
    return timm.create_model(MODEL, pretrained=False, num_classes=num_classes).eval()


def test_specs(digits):
    assert parse_spec("timm:resnet50") == ("timm", "resnet50")
    assert resolve_spec("auto", digits) == "pixels"
    assert resolve_spec(SPEC, digits) == SPEC
    for bad, msg in (("timm:", "lacks a model name"), ("resnet50", "Unknown feature spec"), ("native", "ships none")):
        with pytest.raises(UserError, match=msg):
            resolve_spec(bad, digits)
    feats_only = ArrayDataset("f", np.array([0, 1]), ["a", "b"], features=np.eye(2))
    assert resolve_spec("auto", feats_only) == "native"
    with pytest.raises(UserError, match="needs images"):
        resolve_spec(SPEC, feats_only)
    assert np.array_equal(extract_features(feats_only, [1], "native"), [[0.0, 1.0]])


def test_pixels(digits):
    x = extract_features(digits, np.array([5, 0]), "pixels", batch_size=1)
    assert x.shape == (2, 64) and x.dtype == np.float32
    assert np.array_equal(x[1], digits.get_images([0]).reshape(-1) / np.float32(255))
    with pytest.raises(UserError, match="--weights applies to backbone features"):
        extract_features(digits, [0], "pixels", weights="none")


def test_pixel_batches_are_capped_by_bytes_without_changing_values(digits, monkeypatch):
    import zshbench.features as features

    idx = np.arange(100)
    ref = extract_features(digits, idx, "pixels")
    calls = []
    monkeypatch.setattr(features, "PIXEL_BATCH_BYTES", 64 * 4 * 7)  # 7 digits per batch
    x = extract_features(digits, idx, "pixels", progress=calls.append)
    assert np.array_equal(x, ref) and calls[:2] == [7, 7] and sum(calls) == 100


def test_pixel_feature_matrix_is_estimated_before_allocation(digits, monkeypatch):
    monkeypatch.setenv("ZSHBENCH_MEMORY_LIMIT", "100000")
    with pytest.raises(
        UserError,
        match=r"Not enough memory: the pixel feature matrix \(1,000 items x 64 values: "
        r"8x8x1 pixels, float32\) needs about 250\.0 KiB.*--image-size",
    ):
        extract_features(digits, np.arange(1000), "pixels")
    assert extract_features(digits, np.arange(10), "pixels").shape == (10, 64)


def test_random_init_backbone_grey_and_rgb(digits):
    """weights="none": reproducible random init; grey images are repeated to 3 channels; batching is invisible."""
    calls = []
    a = extract_features(digits, np.arange(6), SPEC, weights="none", batch_size=4, progress=calls.append)
    b = extract_features(digits, np.arange(6), SPEC, weights="none", batch_size=6)
    assert a.shape == (6, _model(0).num_features) and a.dtype == np.float32 and calls == [4, 2]
    assert np.allclose(a, b, atol=1e-5) and np.isfinite(a).all()
    rgb = np.random.default_rng(0).integers(0, 256, (3, 20, 24, 3), dtype=np.uint8)
    ds = ArrayDataset("rgb", np.array([0, 1, 1]), ["a", "b"], images=rgb)
    assert extract_features(ds, [0, 2], SPEC, weights="none").shape == (2, a.shape[1])


def test_pretrained_unavailable_is_an_error_never_a_fallback(digits, monkeypatch):
    import timm

    real = timm.create_model

    def offline(name, pretrained=False, **kw):
        if pretrained:
            raise OSError("We couldn't connect to 'https://huggingface.co'")
        return real(name, pretrained=pretrained, **kw)

    monkeypatch.setattr(timm, "create_model", offline)
    with pytest.raises(UserError, match=r"--weights PATH.*--weights none") as err:
        extract_features(digits, [0, 1], SPEC, weights=None)
    assert MODEL in str(err.value) and "does not fall back" in str(err.value)
    with pytest.raises(zshbench.errors.UnknownNameError, match="Did you mean: resnet50"):
        extract_features(digits, [0], "timm:resnt50", weights="none")


@pytest.mark.parametrize("fmt", ["pth", "safetensors"])
def test_checkpoint_file(digits, tmp_path, fmt):
    """--weights PATH loads the file (classifier weights of a full checkpoint ignored) and changes the features."""
    import torch

    src = _model(123, num_classes=5)
    path = tmp_path / f"ckpt.{fmt}"
    if fmt == "pth":
        torch.save({"state_dict": src.state_dict()}, path)
    else:
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in src.state_dict().items()}, str(path))
    got = extract_features(digits, np.arange(4), SPEC, weights=str(path))
    src.reset_classifier(0)
    ref = backbone.backbone_features(src, [digits.get_images(np.arange(4))])
    assert np.allclose(got, ref, atol=1e-5)
    assert not np.allclose(got, extract_features(digits, np.arange(4), SPEC, weights="none"), atol=1e-3)
    assert weights_fingerprint(str(path)) == "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def test_bad_checkpoints(digits, tmp_path):
    import timm
    import torch

    other = tmp_path / "other.pth"
    torch.save(timm.create_model("test_convnext", pretrained=False).state_dict(), other)
    with pytest.raises(UserError, match="does not match timm model 'test_resnet'"):
        extract_features(digits, [0], SPEC, weights=str(other))
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(UserError, match="could not be read"):
        extract_features(digits, [0], SPEC, weights=str(garbage))
    with pytest.raises(UserError, match="no such file"):
        weights_fingerprint(str(tmp_path / "missing.pth"))
    text = tmp_path / "weights.txt"
    text.write_text("x")
    with pytest.raises(UserError, match="unknown checkpoint format"):
        weights_fingerprint(str(text))


def test_fingerprints_and_describe():
    assert weights_fingerprint(None) == "timm-pretrained"
    assert weights_fingerprint("none") == "random-init:seed0"
    d = describe(SPEC, "none")
    assert d["extractor"] == "timm" and d["model"] == MODEL and d["weights"] == "none"
    assert d["weights_fingerprint"] == "random-init:seed0" and d["timm_version"]
    assert describe("pixels", None) == {
        "spec": "pixels",
        "extractor": "pixels",
        "model": None,
        "weights": None,
        "weights_fingerprint": None,
    }


def test_cache_hit_and_miss(digits, cache, monkeypatch):
    idx = np.arange(5)
    extract_features(digits, idx, SPEC, weights="none")  # no cache_key: nothing written
    assert not cache.exists() or not list(cache.iterdir())
    first = extract_features(digits, idx, SPEC, weights="none", cache_key="ds:split:train")
    assert len(list(cache.glob("*.npz"))) == 1

    def no_backbone(*a, **k):
        raise AssertionError("the backbone ran although the cache holds the entry")

    monkeypatch.setattr(backbone, "load_backbone", no_backbone)
    assert np.array_equal(extract_features(digits, idx, SPEC, weights="none", cache_key="ds:split:train"), first)
    # another part, other indices or other weights are other entries
    with pytest.raises(AssertionError, match="backbone ran"):
        extract_features(digits, idx, SPEC, weights="none", cache_key="ds:split:query")
    with pytest.raises(AssertionError, match="backbone ran"):
        extract_features(digits, idx[:4], SPEC, weights="none", cache_key="ds:split:train")


def _corrupt_truncate(path, meta, feats):
    path.write_bytes(path.read_bytes()[:200])


def _corrupt_shape(path, meta, feats):
    store.write_entry(path, meta, feats[:-1])


def _corrupt_fingerprint(path, meta, feats):
    store.write_entry(path, {**meta, "weights": "sha256:0000"}, feats)


def _corrupt_values(path, meta, feats):
    import json

    bad = feats.copy()
    bad[0, 0] += 1.0  # same shape and meta, stale checksum
    full = {**meta, "sha256": hashlib.sha256(feats.tobytes()).hexdigest()}
    from zshbench.cache import save_npz_atomic

    save_npz_atomic(path, features=bad, meta=np.array(json.dumps(full, sort_keys=True)))


@pytest.mark.parametrize("corrupt", [_corrupt_truncate, _corrupt_shape, _corrupt_fingerprint, _corrupt_values])
def test_bad_cache_entry_is_detected_and_rebuilt(digits, cache, corrupt):
    import timm

    idx = np.arange(5)
    fresh = extract_features(digits, idx, SPEC, weights="none", cache_key="k")
    meta = store.entry_meta("k", SPEC, "random-init:seed0", idx, timm.__version__)
    path = store.entry_path(meta)
    assert path.exists()
    corrupt(path, meta, fresh)
    with pytest.warns(store.CacheWarning, match="recomputing"):
        again = extract_features(digits, idx, SPEC, weights="none", cache_key="k")
    assert np.array_equal(again, fresh)
    assert np.array_equal(store.read_entry(path, meta), fresh)  # rewritten intact
