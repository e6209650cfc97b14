"""`register_variant`: a method's named variant declared in one call instead of a near-identical subclass.

A variant (an ablation, another vocabulary, other pretrained weights) is the base method with other config
defaults and/or other class attributes; its records name it, its ``variant_of`` and its own ``version``::

    COMAEV1Hasher = register_variant("comae-v1", base=COMAEHasher, defaults={"variant": "v1"}, version="2",
                                     doc="COMAE-V1 (Table 3): without the point-wise loss.")
    RAZHFHasher = register_variant("razh-f", base=RAZHHasher, attrs={"paper_weights": RAZH_F_WEIGHTS},
                                   version="1", doc="RAZH-F (Table VII): ...")

The subclass (and, when ``defaults`` are given, its Config dataclass with those defaults) is created here, put
into the calling module under its class name (so pickle and entry points find it, as `collections.namedtuple`
does) and registered with `zshbench.registry.register_method`.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from typing import Any

__all__ = ["register_variant", "variant_class_name"]


def variant_class_name(name: str, base: type) -> str:
    """``COMAEHasher`` + "comae-v1" -> ``COMAEV1Hasher``: the base's class name with the part of the variant's
    name after the base's registered name, each ``-``/``_`` separated word capitalised."""
    stem = base.__name__[: -len("Hasher")] if base.__name__.endswith("Hasher") else base.__name__
    rest = name[len(base.name) :] if base.name and name.startswith(base.name) else name
    words = [w for w in re.split(r"[^0-9A-Za-z]+", rest) if w]
    return stem + "".join(w[:1].upper() + w[1:] for w in words) + "Hasher"


def register_variant(
    name: str,
    *,
    base: type,
    version: str,
    doc: str,
    defaults: dict[str, Any] | None = None,
    attrs: dict[str, Any] | None = None,
    class_name: str | None = None,
    module: str | None = None,
) -> type:
    """Register the variant ``name`` of the registered method class ``base``.

    Args:
        name: the variant's registered name ("comae-v1").
        base: the registered `Hasher` subclass it is a variant of (its ``name`` becomes ``variant_of``).
        version: the variant's own method version (records and saved states carry it).
        doc: the class docstring (the first line is the variant's one-line description).
        defaults: Config fields whose default differs from the base's (a Config subclass ``<Stem>Config`` is
            created; without ``defaults`` the variant uses the base's Config).
        attrs: class attributes that differ from the base's (e.g. other pretrained weights).
        class_name: the class name (default: `variant_class_name`).
        module: the module the classes belong to (default: the caller's).

    Returns:
        The registered subclass.

    Raises:
        TypeError: ``base`` is not registered, or ``defaults`` names a field its Config does not have.
    """
    from zshbench.config import field_types
    from zshbench.registry import register_method

    if not getattr(base, "name", ""):
        raise TypeError(f"register_variant('{name}'): the base {base.__name__} is not a registered method.")
    module = module or sys._getframe(1).f_globals.get("__name__", "__main__")
    class_name = class_name or variant_class_name(name, base)
    ns: dict[str, Any] = {
        "__module__": module,
        "__qualname__": class_name,
        "__doc__": doc,
        "variant_of": base.name,
        "version": str(version),
        **(attrs or {}),
    }
    made: dict[str, type] = {}
    if defaults:
        types = field_types(base.Config)
        unknown = sorted(set(defaults) - set(types))
        if unknown:
            raise TypeError(f"register_variant('{name}'): {base.Config.__name__} has no field(s) {unknown}.")
        config_name = (
            class_name[: -len("Hasher")] + "Config" if class_name.endswith("Hasher") else class_name + "Config"
        )
        cfg = dataclasses.make_dataclass(
            config_name,
            [(k, types[k], dataclasses.field(default=v)) for k, v in defaults.items()],
            bases=(base.Config,),
            namespace={"__module__": module, "__doc__": doc},
        )
        cfg.__module__, cfg.__qualname__ = module, config_name
        ns["Config"] = made[config_name] = cfg
    cls = type(class_name, (base,), ns)
    made[class_name] = cls
    mod = sys.modules.get(module)
    if mod is not None:
        for attr, obj in made.items():
            setattr(mod, attr, obj)
    return register_method(name)(cls)
