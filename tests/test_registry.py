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


def test_builtin_index_names_exactly_what_its_modules_register():
    """zshbench.methods.BUILTIN (name -> module, read without importing the methods) is in step with the code."""
    import importlib

    from zshbench.methods import BUILTIN
    from zshbench.registry import METHODS

    METHODS.load_all()
    builtin = {n for n in METHODS.names() if METHODS.source(n) == "builtin"}
    assert builtin == set(BUILTIN)
    for name, module in BUILTIN.items():
        cls = METHODS.get(name)
        assert cls.__module__ == module or cls.__module__.startswith(module + "."), (name, cls.__module__)
        importlib.import_module(module)


def test_asking_for_one_method_imports_only_its_module():
    """`get_method("lsh")` imports zshbench.methods.lsh, not the deep methods (nor torch): a shallow run starts fast."""
    import subprocess
    import sys

    code = (
        "import sys; from zshbench.registry import get_method, list_methods; "
        "assert 'razh' in list_methods(); get_method('lsh'); "
        "print(int('torch' in sys.modules), int('zshbench.methods.razh' in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["0", "0"]


def test_a_plugin_cannot_take_a_builtin_name(monkeypatch):
    """A built-in name keeps its built-in, indexed but not yet imported, when a plugin's entry point has it too."""
    import importlib
    import types

    from zshbench.hasher import Hasher

    class Builtin(Hasher):
        pass

    class EP:
        name, value, group = "foo", "evil.mod:Cls", "zshbench.methods"

        def load(self):  # pragma: no cover - must never be called
            raise AssertionError("a built-in name resolved to a plugin")

    reg = Registry("method", "zshbench.methods", base_cls=Hasher, builtin_index="fake_index")
    real = importlib.import_module
    imported = []

    def fake_import(name):
        if name == "fake_index":
            return types.SimpleNamespace(BUILTIN={"foo": "fake_foo"})
        if name == "fake_foo":  # what the module's @register_method would do
            imported.append(name)
            return reg.register("foo", Builtin)
        return real(name)

    monkeypatch.setattr("zshbench.registry.importlib.import_module", fake_import)
    monkeypatch.setattr("zshbench.registry.entry_points", lambda group: [EP()])
    assert "foo" in reg.names() and not imported  # listed without importing
    assert reg.get("foo") is Builtin and imported == ["fake_foo"]


def test_a_renamed_entry_keeps_working_with_a_warning():
    from zshbench.hasher import Hasher

    class New(Hasher):
        pass

    reg = Registry("method", "zshbench.methods", base_cls=Hasher)
    reg.register("new-name", New)
    reg.deprecate("old-name", "new-name", "See the changelog.")
    with pytest.warns(FutureWarning, match="'old-name' was renamed to 'new-name'.*See the changelog"):
        assert reg.get("old-name") is New
    assert "old-name" in reg and "old-name" not in reg.names()
    with pytest.warns(FutureWarning):
        assert reg.source("old-name") == "builtin"
