"""`register_variant`: declared variants keep the names, ``variant_of``, versions, defaults and class names of the
hand-written subclasses they replace (records and saved states depend on them), pickle, and refuse mistakes."""

from __future__ import annotations

import dataclasses
import pickle
import sys
from dataclasses import dataclass

import pytest

from zshbench.registry import METHODS, get_method, register_method
from zshbench.train import TorchHasher, TorchHasherConfig, register_variant
from zshbench.train.variants import variant_class_name


@pytest.mark.parametrize(
    "name,base,version,cls_name,config_name,defaults",
    [
        ("razh-t", "razh", "3", "RAZHTHasher", "RAZHTConfig", {"vocabulary": "class-names"}),
        ("razh-f", "razh", "2", "RAZHFHasher", "RAZHConfig", {}),
        ("comae-v1", "comae", "3", "COMAEV1Hasher", "COMAEV1Config", {"variant": "v1"}),
        ("comae-v2", "comae", "3", "COMAEV2Hasher", "COMAEV2Config", {"variant": "v2"}),
        ("comae-v3", "comae", "3", "COMAEV3Hasher", "COMAEV3Config", {"variant": "v3"}),
    ],
)
def test_builtin_variants_are_as_before(name, base, version, cls_name, config_name, defaults):
    cls, parent = get_method(name), get_method(base)
    assert cls.name == name and cls.variant_of == base and cls.version == version and parent.variant_of is None
    assert cls.__name__ == cls_name and cls.Config.__name__ == config_name and issubclass(cls, parent)
    module = sys.modules[cls.__module__]
    assert getattr(module, cls_name) is cls and getattr(module, config_name) is cls.Config
    base_params = parent().get_params()
    assert cls().get_params() == {**base_params, **defaults}  # only the declared defaults differ
    assert [f.name for f in dataclasses.fields(cls.Config)] == [f.name for f in dataclasses.fields(parent.Config)]
    h = cls(n_bits=24, seed=3)
    assert pickle.loads(pickle.dumps(h)).get_params() == h.get_params()
    assert cls.__doc__ and cls.__doc__.split(":")[0] in {"RAZH-T", "RAZH-F (Table VII)", f"COMAE-V{name[-1]} (Table 3)"}


def test_razh_f_differs_from_razh_only_in_its_paper_weights():
    from zshbench.methods.razh import RAZHFHasher, RAZHHasher
    from zshbench.methods.razh.profiles import RAZH_F_WEIGHTS

    assert RAZHFHasher.paper_weights == RAZH_F_WEIGHTS != RAZHHasher.paper_weights
    assert RAZHFHasher.Config is RAZHHasher.Config


@dataclass
class _Cfg(TorchHasherConfig):
    kind: str = "a"
    depth: int = 2


class ToyVarHasher(TorchHasher):  # registered by the fixture only (never during the rest of the session)
    Config = _Cfg
    version = "3"
    profiles = {"only": {"epochs": 1}}
    colour = "red"


@pytest.fixture
def cleanup():
    register_method("toyvar-base")(ToyVarHasher)
    made = []
    yield made
    for name in made:
        METHODS.unregister(name)
    METHODS.unregister("toyvar-base")


def test_register_variant_creates_registers_and_pickles(cleanup):
    cleanup.append("toyvar-base-deep")
    cls = register_variant(
        "toyvar-base-deep",
        base=ToyVarHasher,
        defaults={"depth": 5},
        attrs={"colour": "blue"},
        version="1",
        doc="Deeper.",
    )
    assert get_method("toyvar-base-deep") is cls and cls.__name__ == "ToyVarDeepHasher"
    assert cls.variant_of == "toyvar-base" and cls.version == "1" and cls.colour == "blue" and cls.__doc__ == "Deeper."
    assert cls.Config.__name__ == "ToyVarDeepConfig" and cls.Config().depth == 5 and cls.Config().kind == "a"
    assert ToyVarHasher.colour == "red" and ToyVarHasher.Config().depth == 2  # the base is untouched
    assert globals()["ToyVarDeepHasher"] is cls  # put into the calling module: pickle finds it
    h = cls(seed=4, kind="b")
    again = pickle.loads(pickle.dumps(h))
    assert type(again) is cls and again.config == h.config and type(again.config) is cls.Config
    assert cls(depth="7").config.depth == 7  # the field keeps its type (parsed from a --set string)


def test_register_variant_refusals(cleanup):
    with pytest.raises(TypeError, match="no field"):
        register_variant("toyvar-base-x", base=ToyVarHasher, defaults={"nope": 1}, version="1", doc="x")

    class Unregistered(TorchHasher):
        pass

    with pytest.raises(TypeError, match="not a registered method"):
        register_variant("x-y", base=Unregistered, version="1", doc="x")


def test_variant_class_names(cleanup):
    assert variant_class_name("toyvar-base-deep", ToyVarHasher) == "ToyVarDeepHasher"
    assert variant_class_name("other_name", ToyVarHasher) == "ToyVarOtherNameHasher"
