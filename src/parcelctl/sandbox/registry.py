"""The simulated services, by provider name (the mount prefix)."""

from __future__ import annotations

from .base import Service

SERVICES: dict[str, type[Service]] = {}


def _register() -> None:
    import importlib

    for module, cls in (
        ("kuaidi100", "Kuaidi100Service"),
        ("seventeentrack", "SeventeenTrackService"),
        ("cainiao", "CainiaoService"),
        ("kuaishou", "KuaishouService"),
        ("taobao", "TaobaoService"),
        ("douyin", "DouyinService"),
    ):
        try:
            mod = importlib.import_module(f"parcelctl.sandbox.{module}")
        except ModuleNotFoundError:
            continue  # a protocol not simulated yet
        service = getattr(mod, cls)
        SERVICES[service.name] = service


_register()
