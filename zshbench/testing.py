"""The conformance kit: named checks every registered method must pass (scikit-learn's ``check_estimator``).

In a test suite::

    from zshbench.testing import parametrize_with_checks

    @parametrize_with_checks(["lsh", MyHasher])
    def test_conformance(method, check):
        check()

or in one call: ``check_hasher(MyHasher)`` (raises ``AssertionError`` naming the first failing check), or from
the shell: ``zshbench validate --method mine``.

The checks run on a tiny generated dataset (6 classes of the ``shapes`` renderer, 4 seen / 2 unseen, 32 x 32
images and 48-d features) in a few seconds. A method may declare ``conformance_params`` (config overrides that
make it fast, e.g. a single epoch for a deep method); they never change what is checked.
"""

from __future__ import annotations

import copy
import pickle
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from zshbench.errors import NotFittedError, UserError

__all__ = ["check_hasher", "iter_checks", "parametrize_with_checks", "conformance_dataset", "CHECKS"]

_COMBOS = [
    ("circle", "red", "solid", "large"),
    ("square", "green", "hstripes", "large"),
    ("triangle", "blue", "vstripes", "small"),
    ("diamond", "yellow", "dots", "small"),
    ("circle", "green", "vstripes", "small"),  # unseen: values all seen
    ("square", "red", "dots", "large"),  # unseen
]


def conformance_dataset(variant: int = 0, per_class: int = 20):
    """A tiny `ArrayDataset` and its split (4 seen / 2 unseen classes).

    ``variant`` changes ONLY the unseen classes (their images, features, attribute rows and names), which is how
    `check_unseen_invisible` shows that nothing of them reaches ``fit``.
    """
    from zshbench.datasets import shapes
    from zshbench.datasets.base import ArrayDataset
    from zshbench.protocols.resolve import Protocol, resolve

    combos = [tuple(c) for c in _COMBOS]
    labels = np.repeat(np.arange(len(combos)), per_class)
    images, _ = shapes._render(combos, labels, np.random.default_rng(123))
    names = [shapes.class_name(c) for c in combos]
    binary = np.array([[1.0 if v in c else 0.0 for v in shapes._attr_values()] for c in combos], np.float32)
    if variant:
        unseen = labels >= 4
        images = images.copy()
        rng = np.random.default_rng(1000 + variant)
        images[unseen] = rng.integers(0, 256, images[unseen].shape, dtype=np.uint8)
        binary[4:] = rng.random((2, binary.shape[1])) > 0.5
        names[4:] = [f"changed_{variant}_{n}" for n in names[4:]]
    feats = images.reshape(len(images), 4, 8, 4, 8, 3).mean(axis=(2, 4)).reshape(len(images), -1) / 255.0
    ds = ArrayDataset("conformance", labels, names, binary, shapes.ATTRIBUTE_NAMES, images=images, features=feats)
    proto = Protocol(
        name="conformance",
        version="1",
        dataset="conformance",
        seen=tuple(names[:4]),
        unseen=tuple(names[4:]),
        train_per_class=12,
        query_per_class=4,
    )
    return ds, resolve(proto, ds)


class _Fixture:
    def __init__(self, cls: type):
        from zshbench.runner import build_trainset

        self.cls = cls
        self.ds, self.split = conformance_dataset()
        feats = self.ds.get_features(self.split.train) if cls.requires.inputs == "features" else None
        self.train = build_trainset(self.ds, self.split, feats)
        probe = self.split.database
        self.probe = self.ds.get_features(probe) if cls.requires.inputs == "features" else self.ds.image_view(probe)

    def make(self, **params):
        return self.cls(**{**self.cls.conformance_params, **params})


def _codes(h, x, **kw) -> np.ndarray:
    return h.encode(x, **kw)


# -- the checks --------------------------------------------------------------------------------------------


def check_config_defaults_and_roundtrip(fx: _Fixture) -> None:
    """Every config field has a default; get_params round-trips through the constructor; set_params works."""
    import dataclasses

    for f in dataclasses.fields(fx.cls.Config):
        assert f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING, (
            f"config field '{f.name}' has no default"
        )
    h = fx.make(n_bits=24, seed=3)
    params = h.get_params()
    assert fx.cls(**params).get_params() == params, "get_params() does not round-trip through the constructor"
    assert h.set_params(seed=4) is h and h.get_params()["seed"] == 4, "set_params must update and return self"
    try:
        fx.cls(no_such_key_xyz=1)
    except UserError:
        pass
    else:
        raise AssertionError("an unknown config key must raise UserError")


def check_fit_returns_self(fx: _Fixture) -> None:
    h = fx.make(n_bits=24)
    assert h.fit(fx.train) is h, "fit must return self"


def check_not_fitted(fx: _Fixture) -> None:
    h = fx.make(n_bits=24)
    for call in (lambda: h.encode(fx.probe), h.state_dict):
        try:
            call()
        except NotFittedError:
            continue
        raise AssertionError("encode/state_dict before fit must raise NotFittedError")


def check_code_shape_dtype(fx: _Fixture) -> None:
    """Packed uint8 codes of shape (n, ceil(n_bits/8)) for 8, 24 and 48 bits; at 48 bits the codes are not all
    equal (at 8 bits a deep network after its conformance budget of a step or two may still map every item to
    one code, which says nothing about the method)."""
    for nb in (8, 24, 48):
        h = fx.make(n_bits=nb).fit(fx.train)
        c = _codes(h, fx.probe)
        assert isinstance(c, np.ndarray) and c.dtype == np.uint8, (
            f"codes must be uint8, got {type(c)} {getattr(c, 'dtype', '')}"
        )
        assert c.shape == (len(fx.probe), (nb + 7) // 8), f"{nb} bits: shape {c.shape}"
        if nb == 48:
            assert len(np.unique(c, axis=0)) > 1, f"{nb} bits: every item got the same code"


def check_bits_out_of_range(fx: _Fixture) -> None:
    for nb in (4, 257):
        try:
            fx.make(n_bits=nb).fit(fx.train)
        except UserError:
            continue
        raise AssertionError(f"n_bits={nb} must be refused with a UserError")


def check_seed_determinism(fx: _Fixture) -> None:
    a = _codes(fx.make(n_bits=24, seed=7).fit(fx.train), fx.probe)
    b = _codes(fx.make(n_bits=24, seed=7).fit(fx.train), fx.probe)
    assert np.array_equal(a, b), "the same seed must give identical codes"


def check_batch_invariance(fx: _Fixture) -> None:
    h = fx.make(n_bits=24).fit(fx.train)
    full = _codes(h, fx.probe, batch_size=len(fx.probe))
    for bs in (1, 7):
        assert np.array_equal(full, _codes(h, fx.probe, batch_size=bs)), f"codes change with batch_size={bs}"


def check_save_load(fx: _Fixture) -> None:
    h = fx.make(n_bits=24).fit(fx.train)
    ref = _codes(h, fx.probe)
    h2 = fx.cls().load_state_dict(copy.deepcopy(h.state_dict()))
    assert np.array_equal(ref, _codes(h2, fx.probe)), "load_state_dict does not reproduce the codes"
    with tempfile.TemporaryDirectory() as d:
        for suffix in (".safetensors", ".npz", ".pt"):  # every format of zshbench.statefile
            p = Path(d) / f"state{suffix}"
            h.save(p)
            h3 = fx.cls.load(p)
            assert np.array_equal(ref, _codes(h3, fx.probe)), f"save/load ({suffix}) does not reproduce the codes"
    h4 = pickle.loads(pickle.dumps(h))
    assert np.array_equal(ref, _codes(h4, fx.probe)), "pickling does not reproduce the codes"


def check_encode_any_class(fx: _Fixture) -> None:
    """Encoding works for unseen-class items and any number of items (one included)."""
    h = fx.make(n_bits=24).fit(fx.train)
    q = fx.ds.get_features(fx.split.query) if fx.cls.requires.inputs == "features" else fx.ds.image_view(fx.split.query)
    assert _codes(h, q).shape == (len(q), 3)
    one = q[:1]
    assert _codes(h, one).shape == (1, 3)


def check_unseen_invisible(fx: _Fixture) -> None:
    """The TrainSet holds seen classes only, and changing everything about the unseen classes (images, features,
    attributes, names) leaves the fitted codes unchanged."""
    from zshbench.runner import build_trainset

    tr = fx.train
    unseen_names = {fx.ds.class_names[c] for c in fx.split.unseen_classes}
    assert not unseen_names & set(tr.class_names), "TrainSet lists an unseen class"
    assert tr.class_attributes.shape[0] == len(fx.split.seen_classes), "TrainSet holds non-seen attribute rows"
    ref = _codes(fx.make(n_bits=24).fit(tr), fx.probe)
    ds2, split2 = conformance_dataset(variant=1)
    assert np.array_equal(split2.train, fx.split.train)
    feats = ds2.get_features(split2.train) if fx.cls.requires.inputs == "features" else None
    tr2 = build_trainset(ds2, split2, feats)
    other = _codes(fx.make(n_bits=24).fit(tr2), fx.probe)
    assert np.array_equal(ref, other), (
        "changing only unseen-class data changed the fitted codes: unseen data leaks into fit"
    )


def check_fit_leaves_config_unchanged(fx: _Fixture) -> None:
    """``fit`` must not change the config it was given (scikit-learn's check_dont_overwrite_parameters)."""
    h = fx.make(n_bits=24, seed=5)
    before = copy.deepcopy(h.get_params())
    h.fit(fx.train)
    assert h.get_params() == before, f"fit changed the config: {before} -> {h.get_params()}"


def check_refit_is_idempotent(fx: _Fixture) -> None:
    """Fitting the same instance twice gives the codes of one fit (scikit-learn's check_fit_idempotent): no state
    of the first fit leaks into the second."""
    h = fx.make(n_bits=24, seed=2).fit(fx.train)
    first = _codes(h, fx.probe)
    again = _codes(h.fit(fx.train), fx.probe)
    assert np.array_equal(first, again), "a second fit of the same instance gives other codes than the first"


def check_bad_inputs_refused(fx: _Fixture) -> None:
    """NaN features and features of the wrong width are refused with a UserError (never silently encoded);
    read-only inputs (memory-mapped databases) are accepted."""
    h = fx.make(n_bits=24).fit(fx.train)
    if fx.cls.requires.inputs == "features":
        x = np.array(fx.probe, dtype=np.float32, copy=True)
        bad = x.copy()
        bad[0, 0] = np.nan
        for what, arr in (("NaN features", bad), ("features of another width", x[:, :-1])):
            try:
                h.encode(arr)
            except UserError:
                continue
            raise AssertionError(f"encoding {what} must raise UserError")
        ro = x.copy()
        ro.setflags(write=False)
        assert np.array_equal(_codes(h, ro), _codes(h, x)), "read-only features encode differently"
    else:
        imgs = fx.probe.take(np.arange(4))
        for what, arr in (("float images", imgs.astype(np.float32)), ("3-D images", imgs[..., 0])):
            try:
                h.encode(arr)
            except UserError:
                continue
            raise AssertionError(f"encoding {what} must raise UserError")
        ro = np.array(imgs, copy=True)
        ro.setflags(write=False)
        assert np.array_equal(_codes(h, ro), _codes(h, imgs)), "read-only images encode differently"


def check_requirements_are_honest(fx: _Fixture) -> None:
    """A method fits on exactly what its `Requirements` declare: `Hasher.fit` hides labels from unsupervised
    methods and attributes from methods that do not declare them, so this check fits on that view."""
    view = fx.train.visible_to(fx.cls.requires)
    from zshbench.errors import UserError as _UE

    if not fx.cls.requires.supervised:
        try:
            _ = view.labels
        except _UE:
            pass
        else:
            raise AssertionError("labels reached an unsupervised method")
    fx.make(n_bits=24).fit(fx.train)  # would raise UserError if the method read what it did not declare


CHECKS: tuple[Callable[[_Fixture], None], ...] = (
    check_config_defaults_and_roundtrip,
    check_fit_returns_self,
    check_not_fitted,
    check_code_shape_dtype,
    check_bits_out_of_range,
    check_seed_determinism,
    check_batch_invariance,
    check_save_load,
    check_encode_any_class,
    check_unseen_invisible,
    check_fit_leaves_config_unchanged,
    check_refit_is_idempotent,
    check_bad_inputs_refused,
    check_requirements_are_honest,
)

_FIXTURES: dict[type, _Fixture] = {}


def _resolve(method) -> type:
    from zshbench.registry import get_method

    return get_method(method) if isinstance(method, str) else method


def expected_failures(cls: type) -> dict[str, str]:
    """The checks a method declares it fails, with the reason (``Hasher.expected_failed_checks``)."""
    out = dict(getattr(cls, "expected_failed_checks", {}) or {})
    known = {c.__name__ for c in CHECKS}
    unknown = sorted(set(out) - known)
    if unknown:
        raise UserError(
            f"{cls.__name__}.expected_failed_checks names unknown check(s) {', '.join(unknown)}; the "
            f"checks are: {', '.join(sorted(known))}."
        )
    if any(not isinstance(r, str) or not r.strip() for r in out.values()):
        raise UserError(f"{cls.__name__}.expected_failed_checks: every expected failure needs a reason.")
    return out


def iter_checks(method) -> Iterator[tuple[str, Callable[[], None]]]:
    """(check name, zero-argument callable) pairs for ``method`` (a registered name or a Hasher class)."""
    cls = _resolve(method)

    def bind(check):
        def run():
            fx = _FIXTURES.get(cls)
            if fx is None:
                fx = _FIXTURES[cls] = _Fixture(cls)
            check(fx)

        return run

    for check in CHECKS:
        yield check.__name__, bind(check)


def check_hasher(method) -> None:
    """Run every check on ``method``; raise ``AssertionError`` naming the first failing check. A check the method
    declares in ``expected_failed_checks`` must fail (else it is reported too: the declaration is stale)."""
    expected = expected_failures(_resolve(method))
    for name, run in iter_checks(method):
        try:
            run()
        except (AssertionError, UserError) as exc:
            if name in expected:
                continue
            raise AssertionError(f"{name}: {exc}") from exc
        if name in expected:
            raise AssertionError(
                f"{name} passes although it is declared an expected failure "
                f"({expected[name]}): remove it from expected_failed_checks"
            )


def parametrize_with_checks(methods) -> Callable:
    """pytest decorator: one test per (method, check); the test receives ``method`` and ``check`` (call it)."""
    import pytest

    params, ids = [], []
    for m in methods:
        cls = _resolve(m)
        expected = expected_failures(cls)
        for name, run in iter_checks(cls):
            marks = [pytest.mark.xfail(reason=expected[name], strict=True)] if name in expected else []
            params.append(pytest.param(cls.name or cls.__name__, run, marks=marks))
            ids.append(f"{cls.name or cls.__name__}-{name}")
    return pytest.mark.parametrize("method,check", params, ids=ids)


def learning_check(
    method: str, steps: int | None, *, n_bits: int = 32, seed: int = 0, db_per_class: int = 60, **params
) -> tuple[float, float, dict]:
    """mAP@all on ``shapes-zsh`` of an untrained and a trained deep method (fixed seed, CPU).

    The "untrained" network is the same method fitted for one step at a learning rate of 1e-12 (its
    initialisation, with every data-dependent buffer in place). The database is ``db_per_class`` items of each
    unseen class (cheap to encode); the queries are the protocol's queries.

    Returns:
        (map@all untrained, map@all trained, ``run_info()`` of the trained hasher or {}).
    """
    from zshbench.evaluate import evaluate
    from zshbench.protocols import load_protocol, resolve
    from zshbench.registry import create_hasher
    from zshbench.runner import build_trainset, load_dataset

    ds = load_dataset("shapes")
    split = resolve(load_protocol("shapes-zsh"), ds)
    train = build_trainset(ds, split)
    db_lab = ds.labels[split.database]
    db = np.concatenate([split.database[db_lab == c][:db_per_class] for c in split.unseen_classes])

    def map_all(h) -> float:
        cq, cdb = h.encode(ds.image_view(split.query)), h.encode(ds.image_view(db))
        res = evaluate(cq, cdb, ds.labels[split.query], ds.labels[db], n_bits=h.n_bits, k=len(db), device="cpu")
        return float(res.metrics["map@all"])

    base = create_hasher(method, n_bits=n_bits, seed=seed, lr=1e-12, max_steps=1).fit(train)
    trained = create_hasher(method, n_bits=n_bits, seed=seed, max_steps=steps, **params).fit(train)
    info = trained.run_info()
    return map_all(base), map_all(trained), info
