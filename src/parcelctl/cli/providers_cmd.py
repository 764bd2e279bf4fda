"""parcelctl providers — installed providers, kind, capabilities, configured or not."""

from __future__ import annotations

import typer


def main(json_out: bool = typer.Option(False, "--json", help="JSON array.")) -> None:
    """List installed providers (built-ins and plugins from the parcelctl.providers group)."""
    from ..errors import UsageError
    from ..providers import registry
    from ..services import settings_for
    from .common import load_config
    from .output import console, print_json, providers_table, warn

    config = load_config()
    default_tracker = config.get("providers.tracking.default")
    rows = []
    for name in registry.names():
        try:
            cls = registry.load(name)
        except UsageError as exc:
            warn(str(exc))
            continue
        settings = {k.name: k.default for k in cls.config_keys} | settings_for(config, name)
        rows.append({
            "name": name,
            "kind": cls.kind,
            "display_name": cls.display_name,
            "description": cls.description,
            "capabilities": list(cls.capabilities),
            "configured": cls.is_configured(settings),
            "missing": cls.missing_settings(settings),
            "default_tracking": name == default_tracker,
            "rate_per_second": settings.get("rate_per_second", cls.rate_per_second),
            "keys": [{"name": k.name, "secret": k.secret, "required": k.required,
                      "default": k.default if not k.secret else None, "help": k.help}
                     for k in cls.config_keys],
        })
    if json_out:
        print_json(rows)
        return
    console().print(providers_table(rows))
