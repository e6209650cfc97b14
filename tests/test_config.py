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
