from dataclasses import dataclass

import numpy as np
import pytest

from zshbench import create_hasher, get_method, list_methods
from zshbench.errors import UnknownNameError, UserError
from zshbench.hasher import Hasher, HasherConfig
from zshbench.registry import METHODS, Registry, register_method


def test_builtin_methods_listed_and_pattern():
    assert "lsh" in list_methods()
    assert list_methods("ls*") == [m for m in list_methods() if m.startswith("ls")]
    assert list_methods("zzz*") == []


def test_unknown_name_did_you_mean():
    with pytest.raises(UnknownNameError) as e:
        get_method("lhs")
    msg = str(e.value)
    assert "Did you mean: lsh" in msg and "Available:" in msg


def test_create_hasher_passes_params():
    h = create_hasher("lsh", n_bits=24, center=False)
    assert h.get_params()["n_bits"] == 24 and h.get_params()["center"] is False


def test_register_requires_hasher_subclass():
    with pytest.raises(TypeError):
        register_method("not-a-hasher")(object)


def test_duplicate_registration_warns():
    reg = Registry("thing", "zshbench.test-none")

    class A:
        pass

    class B:
        pass

    reg.register("x", A)
    with pytest.warns(UserWarning, match="registered twice"):
        reg.register("x", B)
    assert reg.get("x") is B


def test_register_and_unregister_custom_method():
    @dataclass
    class Cfg(HasherConfig):
        pass

    @register_method("tmp-zero")
    class Zero(Hasher):
        Config = Cfg

        def _fit(self, train):
            self.d_ = train.features.shape[1]

        def _encode_batch(self, x):
            return np.ones((len(x), self.n_bits))

    try:
        assert get_method("tmp-zero") is Zero and Zero.name == "tmp-zero"
    finally:
        METHODS.unregister("tmp-zero")
    assert "tmp-zero" not in list_methods()


def test_broken_entry_point_reported_by_name(monkeypatch):
    class EP:
        name, value, group = "broken", "nopkg.mod:Cls", "zshbench.methods"

        def load(self):
            raise ImportError("No module named 'nopkg'")

    reg = Registry("method", "zshbench.methods")
    monkeypatch.setattr("zshbench.registry.entry_points", lambda group: [EP()])
    assert "broken" in reg.names()
    with pytest.raises(UserError, match="plugin 'broken'.*failed to load.*nopkg"):
        reg.get("broken")
