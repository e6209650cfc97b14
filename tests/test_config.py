from dataclasses import dataclass
from typing import Literal

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
    maybe: int | None = None
    dims: tuple[int, ...] = (1, 2)


def test_parse_types():
    got = parse_overrides(Cfg, ["n=3", "lr=1e-3", "flag=false", "name=b", "mode=y", "maybe=none", "dims=4,5,6"])
    assert got == {"n": 3, "lr": 1e-3, "flag": False, "name": "b", "mode": "y", "maybe": None, "dims": (4, 5, 6)}
    assert parse_overrides(Cfg, {"maybe": "7"}) == {"maybe": 7}


@pytest.mark.parametrize(
    "pair, fragment",
    [
        ("n=1.5", "expected an integer"),
        ("flag=maybe", "true or false"),
        ("mode=z", "'x' | 'y'"),
        ("lr=abc", "float"),
        ("nn=1", "Did you mean: n?"),
        ("n", "expected key=value"),
    ],
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
    weights: str | None = None
    steps: int | None = None


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
    with pytest.raises(UserError, match="steps=0 is invalid: expected an integer from 1 to 2147483647"):
        check_ranges(WeightsCfg(steps=0), "m", {"steps": POS_INT})


@dataclass
class FloatsCfg:
    lr: float = 0.1
    tau: float | None = None
    grid: tuple[float, ...] = (0.5,)


@pytest.mark.parametrize("raw", ["inf", "-inf", "nan", "Infinity", "-NaN", "1e400", float("inf"), float("nan")])
@pytest.mark.parametrize("key", ["lr", "tau", "grid"])
def test_non_finite_floats_refused_at_parse_time(raw, key):
    """C1-35: --set lr=inf used to pass and make training die later with a FloatingPointError traceback."""
    with pytest.raises(UserError) as e:
        parse_overrides(FloatsCfg, {key: raw})
    msg = str(e.value)
    assert f"config key '{key}'" in msg and "expected a finite number" in msg and "inf, -inf and nan" in msg
    assert "\n" not in msg


def test_floats_that_parse_still_do():
    got = parse_overrides(FloatsCfg, ["lr=1e-3", "tau=none", "grid=0.1, 2, 1e300"])
    assert got == {"lr": 1e-3, "tau": None, "grid": (0.1, 2.0, 1e300)}
    assert parse_overrides(FloatsCfg, {"lr": 3, "tau": 2.5}) == {"lr": 3.0, "tau": 2.5}
    assert parse_overrides(FloatsCfg, {"grid": [1, 2.5]}) == {"grid": (1.0, 2.5)}
    assert parse_overrides(FloatsCfg, {"grid": 4}) == {"grid": (4.0,)}  # one value, as --set grid=4


def test_float_field_refuses_bools_and_ints_beyond_the_float_range():
    with pytest.raises(UserError, match="not true/false"):
        parse_overrides(FloatsCfg, {"lr": True})
    with pytest.raises(UserError, match="expected a number"):  # float(10**400) raises OverflowError
        parse_overrides(FloatsCfg, {"lr": 10**400})


@pytest.mark.parametrize("raw", [2**64, -(2**63) - 1, str(2**70), "9" * 5000])
def test_int_fields_refuse_integers_beyond_64_bits(raw):
    with pytest.raises(UserError) as e:
        parse_overrides(Cfg, {"n": raw})
    assert "config key 'n'" in str(e.value)
    if len(str(raw)) < 100:
        assert "out of range" in str(e.value) and "64 bits" in str(e.value)


def test_int_fields_accept_the_64_bit_range_and_refuse_bools():
    assert parse_overrides(Cfg, {"n": 2**64 - 1}) == {"n": 2**64 - 1}
    assert parse_overrides(Cfg, [f"n={-(2**63)}"]) == {"n": -(2**63)}
    assert parse_overrides(Cfg, {"n": 4.0}) == {"n": 4}
    for raw in (True, "true", 1.5, "1.5", "nan", float("inf")):
        with pytest.raises(UserError, match="expected an integer"):
            parse_overrides(Cfg, {"n": raw})


@dataclass
class SeedCfg:
    seed: int = 0


def test_seed_out_of_range_names_the_seed_range_and_flag():
    """C1-18: --seeds 2**70 used to pass validation and crash in torch.manual_seed."""
    with pytest.raises(UserError) as e:
        parse_overrides(SeedCfg, {"seed": 2**70})
    msg = str(e.value)
    assert "0 to 2**64 - 1" in msg and "--seeds" in msg and "--set seed" not in msg


def test_check_types_and_ranges_refuse_non_finite_and_huge_values():
    from zshbench.config import NON_NEG, NON_NEG_INT, NUMBER, POS_INT, POSITIVE, check_ranges, check_types

    with pytest.raises(UserError, match=r"lr=inf is invalid: expected a finite number \(inf, -inf and nan"):
        check_types(FloatsCfg(lr=float("inf")), "m")
    with pytest.raises(UserError, match="tau=nan is invalid: expected a finite number"):
        check_types(FloatsCfg(tau=float("nan")), "m")
    with pytest.raises(UserError, match="n=36893488147419103232 is invalid: expected an integer that fits in 64 bits"):
        check_types(Cfg(n=2**65), "m")
    for rule in (POSITIVE, NON_NEG, NUMBER):
        for bad in (float("inf"), float("-inf"), float("nan")):
            with pytest.raises(UserError, match="is invalid: expected a finite"):
                check_ranges(FloatsCfg(lr=bad), "m", {"lr": rule})
        check_ranges(FloatsCfg(lr=1.5), "m", {"lr": rule})
    for rule in (POS_INT, NON_NEG_INT):
        check_ranges(WeightsCfg(steps=2**31 - 1), "m", {"steps": rule})
        with pytest.raises(UserError, match="steps=2147483648 is invalid: expected an integer from [01] to 2147483647"):
            check_ranges(WeightsCfg(steps=2**31), "m", {"steps": rule})
