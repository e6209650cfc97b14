"""The conformance kit itself: expected failures need reasons and must really fail; hidden TrainSet fields."""

from dataclasses import dataclass

import numpy as np
import pytest

from zshbench.errors import UserError
from zshbench.hasher import Hasher, HasherConfig, Requirements
from zshbench.testing import check_hasher, conformance_dataset, expected_failures
from zshbench.trainset import TrainSet


@dataclass
class _Cfg(HasherConfig):
    pass


class _PeekingHasher(Hasher):
    """Declares itself unsupervised but reads the labels: the kit must catch it."""

    Config = _Cfg
    requires = Requirements(inputs="features", supervised=False)
    name = "peeking"

    def _fit(self, train):
        self.mean_ = np.asarray(train.features).mean(0) + 0 * len(train.labels)
        self.w_ = np.random.default_rng(self.config.seed).standard_normal((train.features.shape[1], self.n_bits))

    def _encode_batch(self, x):
        return (np.asarray(x) - self.mean_) @ self.w_

    def _get_state(self):
        return {"mean_": self.mean_, "w_": self.w_}

    def _set_state(self, state):
        self.mean_, self.w_ = state["mean_"], state["w_"]


def test_an_unsupervised_method_never_sees_labels():
    with pytest.raises(AssertionError, match="supervised=False"):
        check_hasher(_PeekingHasher)


def test_declared_expected_failure_is_skipped_with_its_reason_and_must_fail():
    class Declared(_PeekingHasher):
        expected_failed_checks = {
            n: "reads labels on purpose (test)"
            for n in (
                "check_fit_returns_self",
                "check_code_shape_dtype",
                "check_seed_determinism",
                "check_batch_invariance",
                "check_save_load",
                "check_encode_any_class",
                "check_unseen_invisible",
                "check_fit_leaves_config_unchanged",
                "check_refit_is_idempotent",
                "check_bad_inputs_refused",
                "check_requirements_are_honest",
            )
        }

    check_hasher(Declared)  # every failing check is declared
    Declared.expected_failed_checks = {**Declared.expected_failed_checks, "check_not_fitted": "stale"}
    with pytest.raises(AssertionError, match="passes although it is declared an expected failure"):
        check_hasher(Declared)
    Declared.expected_failed_checks = {"check_nonexistent": "x"}
    with pytest.raises(UserError, match="unknown check"):
        expected_failures(Declared)


def test_hidden_fields_name_the_missing_declaration():
    ds, split = conformance_dataset()
    from zshbench.runner import build_trainset

    train = build_trainset(ds, split, ds.get_features(split.train))
    view = train.visible_to(Requirements(inputs="features", supervised=False))
    assert len(view) == len(train) and view.features is train.features
    for name in ("labels", "class_names", "class_attributes", "item_attributes"):
        with pytest.raises(UserError, match=r"Declare Requirements\(supervised=True\)"):
            getattr(view, name)
    att_free = train.visible_to(Requirements(inputs="features", supervised=True, attributes=False))
    assert np.array_equal(att_free.labels, train.labels) and att_free.class_names == train.class_names
    with pytest.raises(UserError, match=r"Declare Requirements\(attributes=True\)"):
        _ = att_free.class_attributes
    full = train.visible_to(Requirements(inputs="features", supervised=True, attributes=True))
    assert full is train
    assert isinstance(view, TrainSet)
