"""Provider discovery through the ``parcelctl.providers`` entry-point group.

Built-ins are registered in pyproject.toml exactly like third-party plugins, so a package
``parcelctl-foo`` only needs an entry point to appear in ``parcelctl providers``.
"""

from __future__ import annotations

import logging
from functools import cache
from importlib.metadata import entry_points

from ..errors import UsageError
from .base import Provider

log = logging.getLogger("parcelctl.providers")

GROUP = "parcelctl.providers"

# Used only when the package metadata is missing (running from a source tree without an
# install); keeps ``python -m parcelctl`` usable from a checkout.
_BUILTIN = {
    "kuaidi100": "parcelctl.providers.kuaidi100:Kuaidi100Provider",
    "17track": "parcelctl.providers.seventeentrack:SeventeenTrackProvider",
    "cainiao": "parcelctl.providers.cainiao:CainiaoProvider",
    "kuaishou": "parcelctl.providers.kuaishou:KuaishouProvider",
    "taobao": "parcelctl.providers.taobao:TaobaoProvider",
    "douyin": "parcelctl.providers.douyin:DouyinProvider",
}


@cache
def available() -> dict[str, str]:
    """name -> "module:Class" for every installed provider (nothing imported yet)."""
    found = dict(_BUILTIN)
    for ep in entry_points(group=GROUP):
        found[ep.name] = ep.value
    return found


def names() -> list[str]:
    return sorted(available())


def load_tracker(name: str) -> type[Provider]:
    """A tracking provider by name: an unknown name or a shop platform is a UsageError (a
    parcel "tracked" by a platform would be stored and never polled)."""
    cls = load(name)
    if cls.kind != "tracking":
        raise UsageError(f"'{name}' is a shop platform, not a tracking provider",
                         hint="choose kuaidi100, 17track or cainiao")
    return cls


@cache
def load(name: str) -> type[Provider]:
    target = available().get(name)
    if target is None:
        raise UsageError(
            f"unknown provider '{name}'",
            hint="run 'parcelctl providers' to see the installed ones",
        )
    module_name, _, attr = target.partition(":")
    import importlib

    try:
        module = importlib.import_module(module_name)
        cls = getattr(module, attr)
    except (ImportError, AttributeError) as exc:
        raise UsageError(f"provider '{name}' cannot be loaded ({exc})",
                         hint="reinstall the package that provides it") from None
    if not (isinstance(cls, type) and issubclass(cls, Provider)):
        raise UsageError(f"provider '{name}' is not a parcelctl provider")
    return cls
