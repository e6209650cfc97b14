"""`TorchHasher`: the template of every deep method (RAZH, COMAE, ``examples/zshbench-deep-plugin-example``).

A deep method declares its hyper-parameters and writes two hooks; the template does the rest::

    @dataclass
    class MyConfig(TorchHasherConfig):            # + max_steps, deterministic, progress (the loop's fields)
        lr: float | None = None                   # None = the profile's value

    @register_method("mine")
    class MyHasher(TorchHasher):
        Config = MyConfig
        version = "1"
        profiles = {"tiny": {"epochs": 3, "batch_size": 64, "lr": 1e-3}}

        def build_network(self, p, data):         # an nn.Module with encode(uint8 (B, H, W, C)) -> (B, n_bits)
            return MyNet(self.n_bits, p)
        def loss(self, net, batch, p, generator): # batch = (uint8 images, labels) on the device
            return total, {"part": value.detach()}

**Profiles.** ``profiles`` maps a profile name to every hyper-parameter value; the config's ``profile`` field picks
one (a Config without that field uses the first). A Config field whose name is a key of a profile overrides
that value unless it is None (`profile_fields`: derived from the Config, no list to keep in step). ``p``, the
resolved profile, is the dict every hook receives; it is saved with the model (``run_info()["hyper"]``) and a
saved model is rebuilt from it, not from the current profiles (`_restore`).

**fit**, in order (each hook gets the resolved profile ``p``):

1. `prepare(train, p) -> data`: training-set dependent values; may update ``p`` in place (saved with the
   model); returns the tensors the network is built from (default: none). The network must keep each one as a
   buffer of the same name, so a saved model gives them back.
2. `build_network(p, data)`, under ``torch.manual_seed(config.seed)`` in a forked RNG (`initial_network`), on
   the CPU; then `load_weights(net, p)` (the ``weights`` policy below) and the move to the device.
3. `make_optimizer(net, p)` (default: Adam over every trainable parameter with ``lr`` and, when the profile has
   them, ``betas`` and ``weight_decay``), `make_scheduler(optimizer, p)` (default: none).
4. `train_batches(train, p, generator)`: a `ShuffledBatches` of (uint8 images, labels) on the device, a new
   permutation per epoch from the fit's generator (seeded with ``config.seed``).
5. `zshbench.train.fit_loop` with `loss(net, batch, p, generator)` as the loss: ``p["epochs"]``,
   ``config.max_steps``, ``p["grad_clip"]`` (if any), bf16 autocast on CUDA, deterministic CPU algorithms,
   checkpoint/resume and DDP when the runner sets them up.
6. ``run_info()``: `run_facts(train, p, net)` plus the profile name, ``<weights_attr>_weights`` and
   ``weights_label_set``, ``n_params``, ``device``, ``train`` (loss parts per epoch) and ``hyper`` (= ``p``).

**Weights policy** (`load_weights`, one implementation: `zshbench.weights.load_weights`): the profile's
``weights`` value (a Config field ``weights`` overrides it) is "none" (random init), "pretrained" (timm's weights
named by ``p[timm_name_key]``) or a PATH (.safetensors / .pth); they are loaded into ``getattr(net,
weights_attr)``. A method without a ``weights`` key trains from its random initialisation.

Encoding goes through ``model_.encode`` in batches; state is a flat dict (``model.<key>`` tensors +
``run_info_json``) so that `Hasher.save`/`Hasher.load` work with ``weights_only=True``.
``distributed_training = True``: under torchrun every rank trains (DDP) instead of rank 0 alone.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from zshbench.config import POS_INT, POSITIVE, check_ranges
from zshbench.errors import UserError, did_you_mean
from zshbench.hasher import Hasher, HasherConfig, Requirements

__all__ = ["TorchHasher", "TorchHasherConfig", "BATCH_SIZE", "profile_fields"]

# check_ranges rule of a batch size: a pairwise loss needs two items
BATCH_SIZE = (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 2, "an integer >= 2")
# rules of the keys the template itself reads, checked when the Config has them
LOOP_RULES: dict[str, tuple[Any, str]] = {
    "max_steps": POS_INT,
    "epochs": POS_INT,
    "batch_size": BATCH_SIZE,
    "lr": POSITIVE,
}


@dataclass
class TorchHasherConfig(HasherConfig):
    """Fields of the training loop (`TorchHasher` reads them).

    Attributes:
        max_steps: stop after this many optimizer steps (None: the full epochs).
        deterministic: deterministic torch algorithms on the CPU.
        progress: a progress bar of its own during training (display only: not part of the run's identity;
            `zshbench run` in a terminal shows the training in its own bar without it).
    """

    max_steps: int | None = None
    deterministic: bool = True
    progress: bool = False


def profile_fields(cls: type) -> tuple[str, ...]:
    """The Config fields of ``cls`` (a `TorchHasher` subclass) that override profile values: those whose name is
    a key of one of ``cls.profiles`` (in the Config's field order)."""
    keys = set().union(*(set(p) for p in cls.profiles.values())) if cls.profiles else set()
    return tuple(f.name for f in dataclasses.fields(cls.Config) if f.name in keys)


class TorchHasher(Hasher):
    """Base class of the deep methods: see the module docstring for the hooks and when each is called."""

    requires = Requirements(inputs="images", attributes=True, gpu_capable=True, supervised=True)
    encode_batch_size = 256
    distributed_training: ClassVar[bool] = True
    display_params: ClassVar[tuple[str, ...]] = ("progress",)
    file_params: ClassVar[tuple[str, ...]] = ("weights",)
    Config: ClassVar[type] = TorchHasherConfig

    # -- declared by a method ---------------------------------------------------------------------------
    profiles: ClassVar[dict[str, dict[str, Any]]] = {}  # profile name -> {hyper-parameter: value}
    config_rules: ClassVar[dict[str, tuple[Any, str]]] = {}  # check_ranges rules (None values pass)
    weights_attr: ClassVar[str] = "backbone"  # the sub-module of the network that ``weights`` loads into
    weights_ignore: ClassVar[tuple[str, ...]] = ()  # state-dict prefixes the weights need not fit (a head)
    timm_name_key: ClassVar[str] = "timm_name"  # the profile key naming the timm weights of "pretrained"

    # -- hooks ------------------------------------------------------------------------------------------
    def build_network(self, p: dict[str, Any], data: dict[str, Any]):  # pragma: no cover - abstract
        """The unfitted network (a ``torch.nn.Module`` with ``encode(uint8 images (B, H, W, C)) -> (B, n_bits)``
        real values; the codes are their signs). Called under ``torch.manual_seed(config.seed)``, on the CPU, at
        fit (``data`` = what `prepare` returned) and when a saved model is loaded (``data`` = its state dict,
        ``p`` = its saved settings)."""
        raise NotImplementedError

    def loss(self, net, batch, p: dict[str, Any], generator) -> tuple[Any, dict[str, Any]]:  # pragma: no cover
        """One training step's ``(loss tensor, {name: float or detached tensor})`` on ``batch`` (what
        `train_batches` yields; default: (uint8 images, labels) on the device). Draw random numbers from
        ``generator`` only (it is checkpointed and reseeded per DDP rank). Runs under bf16 autocast on CUDA."""
        raise NotImplementedError

    def prepare(self, train, p: dict[str, Any]) -> dict[str, Any]:
        """Before the network is built: update ``p`` in place with values that depend on the training set (they
        are saved with the model) and return the tensors `build_network` needs (kept by the network as buffers
        of the same names). Facts for `run_facts` may be kept in trailing-underscore attributes."""
        return {}

    def make_optimizer(self, net, p: dict[str, Any]):
        """Adam over every trainable parameter: ``lr``, and ``betas``/``weight_decay`` when the profile has them."""
        import torch

        kw: dict[str, Any] = {"lr": p["lr"]}
        if "betas" in p:
            kw["betas"] = tuple(p["betas"])
        if "weight_decay" in p:
            kw["weight_decay"] = p["weight_decay"]
        return torch.optim.Adam([q for q in net.parameters() if q.requires_grad], **kw)

    def make_scheduler(self, optimizer, p: dict[str, Any]):
        """A learning-rate scheduler stepped after every optimizer step (checkpointed), or None (the default)."""
        return None

    def train_batches(self, train, p: dict[str, Any], generator):
        """The training batches: `ShuffledBatches` of ``p["batch_size"]`` (uint8 images, labels)."""
        return self._train_batches(train, p["batch_size"], generator)

    def run_facts(self, train, p: dict[str, Any], net) -> dict[str, Any]:
        """Method-specific entries of ``run_info()`` (the record's ``extras``), added to the template's."""
        return {}

    def load_weights(self, net, p: dict[str, Any]):
        """Load ``p["weights"]`` into ``getattr(net, weights_attr)``; a `zshbench.weights.LoadedWeights`."""
        from zshbench.weights import WEIGHTS_FLAG, load_weights

        spec = p.get("weights")
        name = p.get(self.timm_name_key)
        if str(spec or "none").lower() == "pretrained" and not name:
            have = [k for k, v in self.profiles.items() if v.get(self.timm_name_key)]
            need = f"profile={' or '.join(have)}" if have else "a profile with pretrained weights"
            raise UserError(
                f"{self.name}: weights=pretrained needs {need} (the {self.profile_name()} profile has no "
                f"pretrained weights); use {WEIGHTS_FLAG}none or {WEIGHTS_FLAG}PATH."
            )
        if str(spec or "none").lower() == "none":
            return load_weights(None, spec)
        what = f"the {name or self.name} {self.weights_attr}"
        return load_weights(
            getattr(net, self.weights_attr), spec, timm_name=name, what=what, ignore_prefixes=self.weights_ignore
        )

    # -- profile and config ------------------------------------------------------------------------------
    def profile_name(self) -> str:
        """The config's ``profile`` (the first of ``profiles`` when the Config has no such field)."""
        name = getattr(self.config, "profile", None)
        if name is None:
            if not self.profiles:
                raise TypeError(f"{type(self).__name__} declares no profiles (class attribute `profiles`).")
            return next(iter(self.profiles))
        return str(name)

    def resolved_profile(self) -> dict[str, Any]:
        """The selected profile with every non-None override of `profile_fields` applied (a new dict)."""
        p = dict(self.profiles[self.profile_name()])
        for key in profile_fields(type(self)):
            value = getattr(self.config, key)
            if value is not None:
                p[key] = value
        return p

    def validate_config(self) -> None:
        super().validate_config()
        name = self.profile_name()
        if name not in self.profiles:
            raise UserError(
                f"{self.name}: {did_you_mean(name, list(self.profiles), 'profile')} Set one with --set profile=NAME."
            )
        fields = {f.name for f in dataclasses.fields(self.Config)}
        rules = {k: r for k, r in LOOP_RULES.items() if k in fields}
        check_ranges(self.config, self.name or type(self).__name__, {**rules, **self.config_rules})

    # -- fit ----------------------------------------------------------------------------------------------
    def initial_network(self, p: dict[str, Any], data: dict[str, Any]):
        """`build_network` under ``torch.manual_seed(config.seed)`` in a forked CPU RNG (the global RNG is left
        as it was), on the CPU, without weights: the network fit starts from."""
        import torch

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.config.seed)
            return self.build_network(p, data)

    def _fit(self, train) -> None:
        from zshbench.train.loop import fit_loop, make_generator

        cfg = self.config
        p = self.resolved_profile()
        data = self.prepare(train, p)
        net = self.initial_network(p, data)
        own = net.state_dict()
        lost = [k for k in data if k not in own]
        if lost:
            raise TypeError(
                f"{type(self).__name__}.build_network: the network does not keep {lost} (from prepare) "
                "as buffers of the same names, so a saved model could not be rebuilt."
            )
        weights = self.load_weights(net, p)
        net = net.to(self._device)
        opt = self.make_optimizer(net, p)
        scheduler = self.make_scheduler(opt, p)
        gen = make_generator(cfg.seed)
        batches = self.train_batches(train, p, gen)

        def loss_fn(model, batch):
            return self.loss(model, batch, p, gen)

        stats = fit_loop(
            net,
            loss_fn,
            batches,
            opt,
            int(p["epochs"]),
            self._device,
            max_steps=getattr(cfg, "max_steps", None),
            grad_clip=p.get("grad_clip"),
            deterministic_cpu=getattr(cfg, "deterministic", True),
            progress=getattr(cfg, "progress", False),
            description=f"{self.name} {self.n_bits}b",
            generator=gen,
            scheduler=scheduler,
        )
        net.eval()
        self.model_ = net
        self.info_ = {
            "profile": self.profile_name(),
            **self.run_facts(train, p, net),
            f"{self.weights_attr}_weights": weights.description,
            "weights_label_set": weights.label_set,
            "n_params": int(sum(t.numel() for t in net.parameters())),
            "device": str(self._device),
            "train": stats.as_dict(),
            "hyper": {k: (list(v) if isinstance(v, tuple) else v) for k, v in p.items()},
        }

    def _train_batches(self, train, batch_size: int, generator):
        """`ShuffledBatches` of (uint8 images, labels) of the training set on the fitted device: a new permutation
        of ``generator`` every epoch; batches under two items are dropped (a pairwise loss needs two). Labels are
        None for a method that does not declare ``supervised``."""
        import torch

        from zshbench.train.batches import ShuffledBatches

        labels = None
        if self.requires.supervised:
            labels = torch.as_tensor(np.asarray(train.labels), dtype=torch.long)
        dev = self._device

        def load(idx):
            imgs = torch.from_numpy(np.ascontiguousarray(train.images.take(idx.numpy())))
            return imgs.to(dev), (labels[idx].to(dev) if labels is not None else None)

        return ShuffledBatches(len(train), int(batch_size), load, generator, min_size=2)

    # -- encoding and state --------------------------------------------------------------------------------
    def run_info(self) -> dict[str, Any]:
        """Stored under ``extras`` of the result record."""
        return dict(getattr(self, "info_", {}))

    def _encode_batch(self, x) -> np.ndarray:
        import torch

        imgs = torch.from_numpy(np.ascontiguousarray(np.asarray(x)))
        return self.model_.encode(imgs).float().cpu().numpy()

    def _get_state(self) -> dict[str, Any]:
        state = {f"model.{k}": v.detach().cpu().clone() for k, v in self.model_.state_dict().items()}
        state["run_info_json"] = json.dumps(getattr(self, "info_", {}), default=str)
        return state

    def _set_state(self, state: dict[str, Any]) -> None:
        model_sd = {k[len("model.") :]: v for k, v in state.items() if k.startswith("model.")}
        info = json.loads(state.get("run_info_json", "{}") or "{}")
        net = self._restore(model_sd, info)
        net.load_state_dict(model_sd)
        net.eval()
        self.model_ = net
        self.info_ = info

    def _restore(self, model_sd: dict[str, Any], info: dict[str, Any]):
        """The unfitted network of a saved model, rebuilt from the settings SAVED with it (``info["hyper"]``),
        not from the current profiles: a later change of a profile cannot change a saved model's codes."""
        hyper = info.get("hyper")
        if not isinstance(hyper, dict):
            raise UserError(
                f"{self.name}: the saved state has no 'hyper' settings (run_info_json), so the network "
                "cannot be rebuilt as it was trained. Refit the method and save it again."
            )
        return self.initial_network(dict(hyper), model_sd).to(self._device)
