"""Saved-hasher files (`zshbench.statefile`): every format restores the state bit for bit and kind for kind; what a
format cannot hold is refused at save time, and a file that is not a saved hasher at load time."""

import numpy as np
import pytest
import torch

from zshbench.errors import UserError
from zshbench.statefile import read_state_file, write_state_file


def state_dict():
    g = torch.Generator().manual_seed(0)
    return {
        "method": "demo",
        "version": "3",
        "config": {"n_bits": 16, "seed": 0, "lr": 0.001, "profile": "tiny", "sizes": [1, 2]},
        "n_features_in": 5,
        "state": {
            "model.weight": torch.randn(4, 3, generator=g),
            "model.count": torch.tensor([7], dtype=torch.int64),
            "mean_": np.random.default_rng(0).normal(size=5),  # float64 numpy
            "modes_": np.arange(6, dtype=np.int64).reshape(3, 2),
            "tie_tol_": 1e-9,
            "run_info_json": '{"a": 1}',
        },
    }


@pytest.mark.parametrize("suffix", [".safetensors", ".npz", ".pt"])
def test_round_trip_keeps_values_and_kinds(tmp_path, suffix):
    sd = state_dict()
    back = read_state_file(write_state_file(tmp_path / f"h{suffix}", sd))
    assert {k: v for k, v in back.items() if k != "state"} == {k: v for k, v in sd.items() if k != "state"}
    assert set(back["state"]) == set(sd["state"])
    for k, v in sd["state"].items():
        got = back["state"][k]
        assert type(got) is type(v), k
        if isinstance(v, torch.Tensor):
            assert got.dtype == v.dtype and torch.equal(got, v)
        elif isinstance(v, np.ndarray):
            assert got.dtype == v.dtype and np.array_equal(got, v)
        else:
            assert got == v


def test_safetensors_is_readable_without_zshbench(tmp_path):
    from safetensors.numpy import load_file

    write_state_file(tmp_path / "h.safetensors", state_dict())
    arrays = load_file(str(tmp_path / "h.safetensors"))
    assert sorted(arrays) == ["mean_", "model.count", "model.weight", "modes_"]


def test_what_a_format_cannot_hold_is_refused_before_writing(tmp_path):
    sd = state_dict()
    sd["state"]["half"] = torch.zeros(2, dtype=torch.bfloat16)
    with pytest.raises(TypeError, match="bfloat16"):
        write_state_file(tmp_path / "h.npz", sd)
    back = read_state_file(write_state_file(tmp_path / "h.safetensors", sd))  # safetensors holds bf16
    assert back["state"]["half"].dtype == torch.bfloat16
    sd = state_dict()
    sd["state"]["nested"] = {"w": torch.zeros(1)}
    with pytest.raises(TypeError, match=r"state\['nested'\]"):
        write_state_file(tmp_path / "n.safetensors", sd)
    assert not (tmp_path / "h.npz").exists() and not (tmp_path / "n.safetensors").exists()


def test_files_that_are_not_saved_hashers(tmp_path):
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(2)}, str(tmp_path / "plain.safetensors"))
    np.savez(tmp_path / "plain.npz", w=np.zeros(2))
    (tmp_path / "junk.safetensors").write_bytes(b"not a file")
    (tmp_path / "junk.pt").write_bytes(b"not a file")
    for name in ("plain.safetensors", "plain.npz", "junk.safetensors", "junk.pt"):
        with pytest.raises(UserError, match="is not a hasher saved by zshbench"):
            read_state_file(tmp_path / name)
    with pytest.raises(UserError, match="No saved hasher"):
        read_state_file(tmp_path / "missing.safetensors")
