"""Registries of methods (Hasher classes) and datasets.

Inside zshbench a decorator registers a class under a name (timm's pattern)::

    @register_method("itq")
    class ITQHasher(Hasher): ...

Third-party packages register through entry points, declared in their ``setup.cfg``::

    [options.entry_points]
    zshbench.methods =
        mine = mypkg.hasher:MyHasher

Entry points are loaded lazily, on the first lookup or listing, so installing a broken plugin never breaks
``import zshbench``; a plugin that fails to load is reported by name when it is asked for.
"""

from __future__ import annotations

import fnmatch
import importlib
import warnings
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from zshbench.errors import UnknownNameError, UserError, did_you_mean
from zshbench.hasher import Hasher

__all__ = [
    "Registry",
    "METHODS",
    "DATASETS",
    "register_method",
    "register_dataset",
    "list_methods",
    "list_datasets",
    "get_method",
    "get_dataset",
    "create_hasher",
    "load_hasher",
    "did_you_mean",
]


class Registry:
    """Name -> object map with lazy entry-point discovery.

    Args:
        kind: what is registered ("method", "dataset"), used in messages.
        group: the entry-point group scanned on first lookup.
        builtin_modules: modules imported on first lookup so that their decorators run.
        base_cls: when given, every registered object must be a subclass of it (checked at registration and
            when an entry point is loaded), as lm-eval's ``Registry(base_cls=...)``.
        builtin_index: a module holding ``BUILTIN``, a dict name -> module that registers it: the names are
            known without importing anything, a module is imported when one of its names is first asked for
            (`get`), and all of them only when every object is needed (`load_all`).
    """

    def __init__(
        self,
        kind: str,
        group: str,
        builtin_modules: tuple[str, ...] = (),
        base_cls: type | None = None,
        builtin_index: str | None = None,
    ):
        self.kind = kind
        self.group = group
        self.builtin_modules = builtin_modules
        self.base_cls = base_cls
        self.builtin_index = builtin_index
        self._index: dict[str, str] = {}  # built-in name -> module that registers it (not imported yet)
        self._renamed: dict[str, tuple[str, str]] = {}  # old name -> (new name, note), see `deprecate`
        self._items: dict[str, Any] = {}
        self._lazy: dict[str, Any] = {}  # name -> EntryPoint, loaded when asked for
        self._sources: dict[str, str] = {}
        self._loaded = False

    # -- registration -----------------------------------------------------------------------------------
    def register(self, name: str, obj: Any = None, *, source: str = "builtin") -> Any:
        """Register ``obj`` under ``name``; usable as a decorator when ``obj`` is omitted."""

        def _add(o: Any) -> Any:
            key = name.lower()
            if self.base_cls is not None and not (isinstance(o, type) and issubclass(o, self.base_cls)):
                raise UserError(
                    f"The {self.kind} '{key}' ({source}) resolves to {o!r}, which is not a "
                    f"{self.base_cls.__module__}.{self.base_cls.__name__} subclass; a {self.kind} plugin's entry "
                    "point must name such a class."
                )
            if key in self._items and self._items[key] is not o:
                warnings.warn(
                    f"{self.kind} '{key}' is registered twice ({self._sources.get(key)} and {source}); "
                    "the later registration wins.",
                    stacklevel=3,
                )
            self._items[key] = o
            self._sources[key] = source
            if hasattr(o, "__dict__") and isinstance(o, type):
                # the registered name is part of the class (records and messages use it)
                if "name" not in o.__dict__ or getattr(o, "name", None) in (None, ""):
                    o.name = key
            return o

        return _add if obj is None else _add(obj)

    def deprecate(self, old: str, new: str, note: str = "") -> None:
        """Keep a renamed entry working: ``get(old)`` warns (FutureWarning) and returns ``get(new)``; ``old`` is
        not listed by `names`. As timm's ``register_model_deprecations``."""
        self._renamed[old.lower()] = (new.lower(), note)

    def unregister(self, name: str) -> None:
        self._items.pop(name.lower(), None)
        self._index.pop(name.lower(), None)
        self._lazy.pop(name.lower(), None)

    # -- discovery --------------------------------------------------------------------------------------
    def _ensure_loaded(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        for mod in self.builtin_modules:
            importlib.import_module(mod)
        if self.builtin_index:
            index = importlib.import_module(self.builtin_index).BUILTIN
            self._index = {k.lower(): v for k, v in index.items() if k.lower() not in self._items}
        for ep in entry_points(group=self.group):
            key = ep.name.lower()
            if key not in self._items and key not in self._index:  # a built-in name keeps its built-in
                self._lazy[key] = ep

    def _load_builtin(self, key: str) -> Any:
        module = self._index[key]
        importlib.import_module(module)
        for name in [k for k, m in self._index.items() if m == module]:
            del self._index[name]
        if key not in self._items:  # pragma: no cover - BUILTIN out of step with the code (a test checks it)
            raise RuntimeError(f"zshbench bug: module {module} does not register the {self.kind} '{key}'.")
        return self._items[key]

    def load_all(self) -> None:
        """Import every built-in module and load every entry point (e.g. to list the classes' versions)."""
        self._ensure_loaded()
        for key in list(self._index):
            if key in self._index:
                self._load_builtin(key)
        for key in list(self._lazy):
            self._load_lazy(key)

    def _load_lazy(self, key: str) -> Any:
        ep = self._lazy.pop(key)
        try:
            obj = ep.load()
        except Exception as exc:  # a plugin's own bug: say which plugin
            raise UserError(
                f"The {self.kind} plugin '{key}' (entry point '{ep.value}' in group '{self.group}') failed to "
                f"load: {type(exc).__name__}: {exc}. Fix or uninstall the plugin package."
            ) from exc
        return self.register(key, obj, source=f"entry point {ep.value}")

    # -- lookup -----------------------------------------------------------------------------------------
    def names(self, pattern: str | None = None) -> list[str]:
        """Sorted registered names, optionally filtered by an fnmatch ``pattern`` such as ``"razh*"``."""
        self._ensure_loaded()
        names = sorted(set(self._items) | set(self._index) | set(self._lazy))
        if pattern:
            names = [n for n in names if fnmatch.fnmatch(n, pattern.lower())]
        return names

    def get(self, name: str) -> Any:
        self._ensure_loaded()
        key = str(name).lower()
        if key in self._items:
            return self._items[key]
        if key in self._index:
            return self._load_builtin(key)
        if key in self._lazy:
            return self._load_lazy(key)
        if key in self._renamed:
            new, note = self._renamed[key]
            warnings.warn(
                f"The {self.kind} '{key}' was renamed to '{new}'; use '{new}' (the old name will be removed)."
                + (f" {note}" if note else ""),
                FutureWarning,
                stacklevel=2,
            )
            return self.get(new)
        raise UnknownNameError(did_you_mean(key, self.names(), self.kind))

    def source(self, name: str) -> str:
        self.get(name)
        key = name.lower()
        return self._sources[self._renamed[key][0] if key in self._renamed and key not in self._sources else key]

    def __contains__(self, name: str) -> bool:
        self._ensure_loaded()
        key = name.lower()
        return key in self._items or key in self._index or key in self._lazy or key in self._renamed


METHODS = Registry("method", "zshbench.methods", base_cls=Hasher, builtin_index="zshbench.methods")
DATASETS = Registry("dataset", "zshbench.datasets", ("zshbench.datasets",))


def register_method(name: str) -> Callable[[type], type]:
    """Class decorator: register a `Hasher` subclass under ``name``."""

    def deco(cls: type) -> type:
        if not (isinstance(cls, type) and issubclass(cls, Hasher)):
            raise TypeError(f"@register_method('{name}') expects a Hasher subclass, got {cls!r}.")
        cls.name = name.lower()
        return METHODS.register(name, cls)

    return deco


def register_dataset(name: str) -> Callable[[Any], Any]:
    """Decorator: register a dataset factory (a callable ``f(data_root=None, **kw) -> Dataset``)."""
    return DATASETS.register(name)


def list_methods(pattern: str | None = None) -> list[str]:
    return METHODS.names(pattern)


def list_datasets(pattern: str | None = None) -> list[str]:
    return DATASETS.names(pattern)


def get_method(name: str) -> type:
    """The Hasher class registered as ``name`` (an entry-point plugin is checked to be a Hasher when loaded)."""
    return METHODS.get(name)


def get_dataset(name: str) -> Any:
    """The dataset factory registered as ``name``."""
    return DATASETS.get(name)


def create_hasher(name: str, *, device: str = "cpu", **params: Any) -> Hasher:
    """Build the method ``name`` with config overrides ``params`` (like ``timm.create_model``).

    Example:
        >>> create_hasher("itq", n_bits=64, seed=0)
        ITQHasher(n_bits=64)
    """
    return get_method(name)(device=device, **params)


def load_hasher(path: str | Path, device: str = "cpu") -> Hasher:
    """A fitted hasher saved with `Hasher.save`, whatever its method: the saved method name picks the class
    (``torch.load(weights_only=True)``: no code is executed). For a known class, ``Cls.load(path)`` does the
    same."""
    from zshbench.hasher import read_saved_state

    sd = read_saved_state(path)
    return get_method(sd["method"])(device=device).load_state_dict(sd)
