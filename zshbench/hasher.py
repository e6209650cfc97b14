"""The Hasher contract, scikit-learn style.

A method is a `Hasher` subclass with a config dataclass::

    @dataclass
    class MyConfig(HasherConfig):
        n_iter: int = 50            # every field is a `--set` key; the default is the documented default

    @register_method("mine")
    class MyHasher(Hasher):
        Config = MyConfig
        requires = Requirements(inputs="features")
        version = "1"

        def _fit(self, train: TrainSet) -> None:          # learn state in trailing-underscore attributes
            self.w_ = ...
        def _encode_batch(self, x) -> np.ndarray:          # real values (b, n_bits); the base class takes signs
            return x @ self.w_
        def _get_state(self) -> dict: return {"w_": self.w_}
        def _set_state(self, state: dict) -> None: self.w_ = state["w_"]

The base class does everything common: validation of the config and the inputs, seeding, batching, packing the
signs into ``uint8`` codes, the not-fitted check, and saving/loading state.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np

from zshbench.codes import n_bytes, pack_signs
from zshbench.config import check_types, config_hash, config_to_dict, parse_overrides
from zshbench.device import resolve_device  # noqa: F401 - re-exported: zshbench.hasher.resolve_device
from zshbench.errors import NotFittedError, UserError
from zshbench.trainset import ImageView, TrainSet, as_feature_array, as_image_array

__all__ = ["Hasher", "HasherConfig", "Requirements", "MIN_BITS", "MAX_BITS", "MAX_SEED", "resolve_device"]

MIN_BITS, MAX_BITS = 8, 256
# seeds: what every seeded library accepts as the runner and the methods use them (torch.manual_seed and
# torch.Generator.manual_seed take 0..2**64 - 1; random.seed, numpy's default_rng and SeedSequence any
# non-negative integer; np.random.seed gets seed % 2**32)
MAX_SEED = 2**64 - 1
# keys that identify a run by themselves (the record key has bits and seed), so they stay out of the config hash
RUN_KEYS = ("n_bits", "seed")


@dataclass
class HasherConfig:
    """Fields every method has.

    Attributes:
        n_bits: code length, 8..256 (24 and 48 included).
        seed: seeds every random choice of the method (projections, initialisation, batching); 0..2**64 - 1.
    """

    n_bits: int = 64
    seed: int = 0


@dataclass(frozen=True)
class Requirements:
    """What a method needs, so the runner can refuse an impossible pairing before any work.

    Attributes:
        inputs: "features" (vectors from the feature pipeline) or "images" (uint8 images).
        attributes: True when the method uses class-level attributes (datasets without annotations then run
            in labels-as-attributes mode).
        gpu_capable: the method runs its heavy work on a CUDA device when one is given.
        supervised: the method reads labels in `fit`.
    """

    inputs: Literal["features", "images"] = "features"
    attributes: bool = False
    gpu_capable: bool = False
    supervised: bool = False


class Hasher:
    """Base class of every method. See the module docstring for the contract.

    Args:
        config: a ``Config`` instance (defaults when omitted).
        device: "cpu", "cuda", "cuda:N" or "auto"; only methods with ``requires.gpu_capable`` use CUDA.
        **params: overrides of config fields, e.g. ``n_bits=32, seed=1``.
    """

    name: ClassVar[str] = ""
    version: ClassVar[str] = "1"
    Config: ClassVar[type] = HasherConfig
    requires: ClassVar[Requirements] = Requirements()
    encode_batch_size: ClassVar[int] = 4096
    # the method's paper, short form ("Gong et al., TPAMI 2013"), shown by `zshbench list methods --verbose`
    paper: ClassVar[str] = ""
    # the registered name of the method this one is a variant or ablation of (None for a main method)
    variant_of: ClassVar[str | None] = None
    # config keys whose values may name files (weights, word vectors): the run identity holds the files' sha256
    file_params: ClassVar[tuple[str, ...]] = ()
    #: config keys that only change what is shown (a progress bar), never a number: recorded at their default,
    #: so they are not part of a record's params, config hash or run identity (`get_params`)
    display_params: ClassVar[tuple[str, ...]] = ()
    # config overrides that make the conformance kit fast (e.g. one epoch); they never change what is checked
    conformance_params: ClassVar[dict[str, Any]] = {}
    # conformance checks this method is known to fail: check name -> the reason (pytest xfails them, strictly)
    expected_failed_checks: ClassVar[dict[str, str]] = {}
    # deep methods: under torchrun every rank trains (DDP) instead of rank 0 alone (`zshbench.train.distributed`)
    distributed_training: ClassVar[bool] = False

    def check_fit_memory(self, n: int, d: int) -> None:
        """Hook called before any work (`zshbench.runner.prepare`) with the training set's size ``n`` x ``d``: raise a
        `UserError` (`zshbench.memory.check_allocation`) when fitting cannot fit in memory. Default: no check."""

    def run_info(self) -> dict[str, Any]:
        """JSON-able facts about the fitted run that go into the record's ``extras`` (training statistics, the
        profile used, the weights' label set, ...). Default: none."""
        return {}

    def complexity(self, sample: Any) -> dict[str, Any] | None:
        """Parameters and FLOPs per encoded item, when the method counts them itself (shallow methods count
        their projection analytically); None lets `zshbench.complexity` measure the network with torch's
        FlopCounterMode (deep methods) or report "not measured"."""
        return None

    def __init__(self, config: HasherConfig | None = None, *, device: str = "cpu", **params: Any):
        base = config if config is not None else self.Config()
        if not isinstance(base, self.Config):
            raise TypeError(f"{type(self).__name__} expects a {self.Config.__name__}, got {type(base).__name__}.")
        if params:
            params = parse_overrides(self.Config, params, owner=f"method '{self.name or type(self).__name__}'")
        self.config = dataclasses.replace(base, **params)
        self.device = device

    # -- parameters ------------------------------------------------------------------------------------
    def get_params(self) -> dict[str, Any]:
        """The full config as a JSON-able dict (round-trips through ``type(self)(**params)``). A key of
        `display_params` is given its default value: it changes what is shown, never a number, so it is not
        part of the record's params, config hash or run identity."""
        d = config_to_dict(self.config)
        defaults = {f.name: f.default for f in dataclasses.fields(self.Config)} if self.display_params else {}
        for key in self.display_params:
            if key in d:
                d[key] = defaults[key]
        return d

    def set_params(self, **params: Any) -> Hasher:
        params = parse_overrides(self.Config, params, owner=f"method '{self.name}'")
        self.config = dataclasses.replace(self.config, **params)
        return self

    def identity_params(self) -> dict[str, Any]:
        """The full config for the run identity: like `get_params`, but a value of a `file_params` key that
        names a file is replaced by the file's name and sha256 (`zshbench.fingerprints.file_identity`), so the
        identity changes with the file's content and not with where it lives."""
        from zshbench.fingerprints import file_identity

        params = self.get_params()
        for key in self.file_params:
            fp = file_identity(params.get(key))
            if fp is not None:
                params[key] = fp
        return params

    def config_hash(self) -> str:
        """Hash of the config without n_bits and seed (they are separate parts of a record's key)."""
        return config_hash(self.get_params(), exclude=RUN_KEYS)

    @property
    def n_bits(self) -> int:
        return int(self.config.n_bits)

    def validate_config(self) -> None:
        """Check the config; subclasses extend with ``super().validate_config()``.

        Raises:
            UserError: a value out of range, naming the key, the value and the allowed range (``seed``:
                0..`MAX_SEED`, the range torch.manual_seed accepts).
        """
        nb = self.config.n_bits
        if not isinstance(nb, int) or isinstance(nb, bool) or not (MIN_BITS <= nb <= MAX_BITS):
            raise UserError(
                f"n_bits={nb!r} is out of range: zshbench supports code lengths from {MIN_BITS} to {MAX_BITS} bits "
                "(e.g. --bits 24,48,64,128)."
            )
        seed = self.config.seed
        if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= MAX_SEED:
            raise UserError(
                f"seed={seed!r} is out of range: seeds must be integers from 0 to 2**64 - 1 ({MAX_SEED}), the "
                "range every seeded library accepts (torch.manual_seed refuses larger ones). Use e.g. --seeds 0,1,2."
            )
        check_types(self.config, self.name or type(self).__name__)

    # -- fitting ---------------------------------------------------------------------------------------
    def fit(self, train: TrainSet) -> Hasher:
        """Learn the hash function from seen-class data.

        Args:
            train: the `TrainSet` (seen-class items, labels, seen-class attributes).

        Returns:
            self.

        Raises:
            UserError: invalid config, or a TrainSet without the inputs the method needs.
        """
        if not isinstance(train, TrainSet):
            raise TypeError(
                f"{type(self).__name__}.fit expects a zshbench.trainset.TrainSet, got {type(train).__name__}. "
                "Build one with TrainSet.from_arrays(labels, features=...) or let the runner build it."
            )
        self.validate_config()
        if self.requires.inputs == "features" and train.features is None:
            raise UserError(f"Method '{self.name}' needs features, but the TrainSet has none.")
        if self.requires.inputs == "images" and train.images is None:
            raise UserError(f"Method '{self.name}' needs images, but the TrainSet has none.")
        self._device = resolve_device(self.device)
        if self.requires.inputs == "features":
            self.n_features_in_ = int(as_feature_array(train.features, what="training features").shape[1])
        self._fit(train.visible_to(self.requires))
        self.fitted_ = True
        return self

    def _fit(self, train: TrainSet) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- encoding --------------------------------------------------------------------------------------
    def is_fitted(self) -> bool:
        return bool(getattr(self, "fitted_", False))

    def _check_fitted(self) -> None:
        if not self.is_fitted():
            raise NotFittedError(
                f"This {type(self).__name__} ('{self.name}') is not fitted yet: call fit(train) before encode, "
                "or load a saved state with load_state_dict()."
            )

    def _prepare_inputs(self, x: Any) -> np.ndarray | ImageView:
        if self.requires.inputs == "features":
            if isinstance(x, ImageView):
                raise UserError(f"Method '{self.name}' encodes feature vectors, not images.")
            arr = as_feature_array(x)
            d = getattr(self, "n_features_in_", None)
            if d is not None and arr.shape[1] != d:
                raise UserError(
                    f"{self.name} was fitted on {d}-d features but got {arr.shape[1]}-d features to encode. Encode "
                    "features from the same extractor (and image size) as the training features."
                )
            return arr
        if isinstance(x, ImageView):
            return x
        return ImageView.from_array(as_image_array(x))

    def encode(self, x: Any, batch_size: int | None = None, progress: Any = None) -> np.ndarray:
        """Binary codes of ``x`` (features or images of any class, seen or unseen).

        Args:
            x: feature array/tensor (n, D) or images (uint8 (n, H, W, C) or an `ImageView`).
            batch_size: items per batch (codes do not depend on it).
            progress: optional callable ``progress(n_done)`` called after each batch.

        Returns:
            uint8 array of shape (n, ceil(n_bits / 8)), bits packed most significant first.
        """
        self._check_fitted()
        data = self._prepare_inputs(x)
        n = len(data)
        bs = int(batch_size or self.encode_batch_size)
        if bs <= 0:
            raise UserError(f"batch_size must be positive, got {bs}.")
        out = np.zeros((n, n_bytes(self.n_bits)), dtype=np.uint8)
        for start in range(0, n, bs):
            stop = min(n, start + bs)
            chunk = data[start:stop]
            h = self._encode_batch(chunk)
            if tuple(h.shape) != (stop - start, self.n_bits):
                raise RuntimeError(
                    f"{type(self).__name__}._encode_batch returned shape {tuple(h.shape)}, expected "
                    f"({stop - start}, {self.n_bits})."
                )
            out[start:stop] = pack_signs(h)
            if progress is not None:
                progress(stop - start)
        return out

    def _encode_batch(self, x: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- state -----------------------------------------------------------------------------------------
    def _get_state(self) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _set_state(self, state: dict[str, Any]) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to encode again: method, version, config and the learned state."""
        self._check_fitted()
        sd = {"method": self.name, "version": self.version, "config": self.get_params(), "state": self._get_state()}
        if getattr(self, "n_features_in_", None) is not None:
            sd["n_features_in"] = int(self.n_features_in_)
        return sd

    def load_state_dict(self, sd: dict[str, Any]) -> Hasher:
        if sd.get("method") != self.name:
            raise UserError(f"State was saved by method '{sd.get('method')}', cannot load into '{self.name}'.")
        if str(sd.get("version")) != str(self.version):
            raise UserError(
                f"State was saved by '{self.name}' version {sd.get('version')}, this is version {self.version}; "
                "refit the method."
            )
        self.config = dataclasses.replace(self.Config(), **parse_overrides(self.Config, sd["config"]))
        self._device = resolve_device(self.device)
        if sd.get("n_features_in") is not None:
            self.n_features_in_ = int(sd["n_features_in"])
        self._set_state(sd["state"])
        self.fitted_ = True
        return self

    def save(self, path: str | Path) -> None:
        """Save the fitted state; the file's suffix picks the format: ``.safetensors`` or ``.npz`` (weights only,
        no pickles) or ``.pt`` (``torch.save``); see `zshbench.statefile`. Load with `Hasher.load` or
        `zshbench.load_hasher`."""
        from zshbench.statefile import write_state_file

        write_state_file(path, self.state_dict())

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu") -> Hasher:
        """Load a hasher of this class saved with `save` (``weights_only=True``: no code is executed). To load a
        saved hasher of any method, use `zshbench.registry.load_hasher`.

        Raises:
            UserError: the file was saved by another method, or is not a saved hasher.
        """
        if cls is Hasher:
            raise UserError(
                "Hasher.load needs a concrete method class (e.g. ITQHasher.load(path)); to load a saved "
                "hasher of any method use zshbench.load_hasher(path)."
            )
        return cls(device=device).load_state_dict(read_saved_state(path))

    def __repr__(self) -> str:
        defaults = config_to_dict(self.Config())
        changed = {k: v for k, v in self.get_params().items() if defaults.get(k) != v}
        args = ", ".join(f"{k}={v!r}" for k, v in changed.items())
        return f"{type(self).__name__}({args})"


def read_saved_state(path: str | Path) -> dict[str, Any]:
    """The state dict of a file written by `Hasher.save` (any of its formats; `zshbench.statefile`), read
    without executing code (safetensors, ``np.load(allow_pickle=False)``, ``torch.load(weights_only=True)``).

    Raises:
        UserError: the file is missing or is not a saved hasher.
    """
    from zshbench.statefile import read_state_file

    return read_state_file(path)
