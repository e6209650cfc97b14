from dataclasses import dataclass
from typing import Literal, Optional

import pytest

from zshbench.config import config_hash, parse_overrides
from zshbench.errors import UserError


@dataclass
class Cfg:
    n: int = 1
    lr: float = 0.1
    flag: bool = True
    name: str = "a"
    mode: Literal["x", "y"] = "x"
    maybe: Optional[int] = None
    dims: tuple[int, ...] = (1, 2)


def test_parse_types():
    got = parse_overrides(Cfg, ["n=3", "lr=1e-3", "flag=false", "name=b", "mode=y", "maybe=none", "dims=4,5,6"])
    assert got == {"n": 3, "lr": 1e-3, "flag": False, "name": "b", "mode": "y", "maybe": None, "dims": (4, 5, 6)}
    assert parse_overrides(Cfg, {"maybe": "7"}) == {"maybe": 7}


@pytest.mark.parametrize(
    "pair, fragment",
    [("n=1.5", "expected int"), ("flag=maybe", "true or false"), ("mode=z", "'x' | 'y'"), ("lr=abc", "float"),
     ("nn=1", "Did you mean 'n'"), ("n", "expected key=value")],
)
def test_parse_errors_name_the_problem(pair, fragment):
    with pytest.raises(UserError) as e:
        parse_overrides(Cfg, [pair])
    assert fragment in str(e.value)
    if "Did you mean" in fragment or "key=value" in fragment:
        assert "n, lr, flag, name, mode, maybe, dims" in str(e.value)


def test_config_hash_stable_and_excludes():
    a = config_hash({"x": 1, "y": [1, 2], "n_bits": 8}, exclude=("n_bits",))
    b = config_hash({"y": [1, 2], "x": 1, "n_bits": 64}, exclude=("n_bits",))
    assert a == b and len(a) == 12
    assert a != config_hash({"x": 2, "y": [1, 2]})


@dataclass
class WeightsCfg:
    weights: Optional[str] = None
    steps: Optional[int] = None


def test_none_string_kept_for_optional_str():
    # "--set weights=none" means an explicit random init, not "use the profile's default"
    assert parse_overrides(WeightsCfg, ["weights=none", "steps=none"]) == {"weights": "none", "steps": None}


def test_check_types_and_ranges():
    from zshbench.config import POS_INT, check_ranges, check_types

    check_types(Cfg(), "m")
    with pytest.raises(UserError, match="mode='z' is invalid"):
        check_types(Cfg(mode="z"), "m")
    with pytest.raises(UserError, match="n='3' is invalid"):
        check_types(Cfg(n="3"), "m")
    check_ranges(WeightsCfg(steps=None), "m", {"steps": POS_INT})
    with pytest.raises(UserError, match="steps=0 is invalid: expected an integer >= 1"):
        check_ranges(WeightsCfg(steps=0), "m", {"steps": POS_INT})
