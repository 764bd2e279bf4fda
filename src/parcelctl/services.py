"""Glue between config, secret store and providers: build a ready-to-use provider."""

from __future__ import annotations

import json
from typing import Any

from .config import Config
from .errors import ConfigError
from .http import HttpClient
from .models import TokenSet
from .providers import registry
from .providers.base import PlatformProvider, Provider, TrackingProvider

TRACKING_FALLBACK_ORDER = ("kuaidi100", "17track", "cainiao")


def settings_for(config: Config, name: str) -> dict[str, Any]:
    cls = registry.load(name)
    secret_keys = [k.name for k in cls.config_keys if k.secret]
    settings = config.provider_settings(name, secret_keys)
    from .config_keys import check_provider_table

    # A hand-edited `phone_carriers = 5` is one line naming the key, not a TypeError in add.
    check_provider_table(name, {k: v for k, v in settings.items() if k not in secret_keys},
                         config.paths.config_file)
    return settings


def make_provider(config: Config, name: str, *, require_configured: bool = True
                  ) -> tuple[Provider, HttpClient]:
    cls = registry.load(name)
    settings = settings_for(config, name)
    if require_configured:
        missing = cls.missing_settings({k.name: k.default for k in cls.config_keys} | settings)
        if missing:
            first = missing[0]
            raise ConfigError(
                f"not configured: {', '.join(missing)} missing",
                provider=name,
                hint=f"run: parcelctl config set providers.{name}.{first} VALUE",
            )
    rate = settings.get("rate_per_second", cls.rate_per_second)
    http = HttpClient(
        name,
        rate=float(rate) if isinstance(rate, int | float) and not isinstance(rate, bool) else None,
        timeout=config.number("http.timeout", 20.0) or 20.0,
        concurrency=int(settings.get("concurrency") or cls.concurrency),
        rate_memory=config.paths.state_dir / "ratelimits.json",
        tls=_uses_tls(cls, settings),
        max_body=max_body_bytes(config),
    )
    return cls(settings, http), http


def max_body_bytes(config: Config) -> int:
    """``http.max_body_mb`` in bytes, held to its range (a hand-edited file included)."""
    from .http import MAX_BODY_MB, MAX_BODY_RANGE

    low, high = MAX_BODY_RANGE
    return int(min(max(config.number("http.max_body_mb", MAX_BODY_MB), low), high) * 2**20)


def _uses_tls(cls: type[Provider], settings: dict[str, Any]) -> bool:
    """False only when every URL the provider is configured with is plain ``http://``."""
    urls = [str(settings.get(k.name, k.default) or "") for k in cls.config_keys
            if k.name.endswith("url")]
    return not urls or not all(u.lower().startswith("http://") for u in urls)


def tracking_provider_name(config: Config, explicit: str | None = None) -> str:
    """``--provider`` wins; else ``providers.tracking.default``; else the first configured."""
    if explicit:
        registry.load_tracker(explicit)
        return explicit
    default = config.get("providers.tracking.default")
    if isinstance(default, str) and default:
        return default
    for name in TRACKING_FALLBACK_ORDER:
        cls = registry.load(name)
        if cls.is_configured({k.name: k.default for k in cls.config_keys}
                             | settings_for(config, name)):
            return name
    return "cainiao"


def as_tracking(provider: Provider) -> TrackingProvider:
    if not isinstance(provider, TrackingProvider):
        raise ConfigError(f"'{provider.name}' is not a tracking provider",
                          hint="choose kuaidi100, 17track or cainiao")
    return provider


def as_platform(provider: Provider) -> PlatformProvider:
    if not isinstance(provider, PlatformProvider):
        raise ConfigError(f"'{provider.name}' is not a platform provider",
                          hint="link one of: kuaishou, taobao, douyin")
    return provider


def token_key(provider: str, account: str) -> str:
    return f"tokens.{provider}.{account}"


def load_tokens(config: Config, provider: str, account: str) -> TokenSet | None:
    raw = config.secrets.get(token_key(provider, account))
    if not raw:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    tokens = TokenSet.from_dict(data)
    from .http import register_secret

    register_secret(tokens.access_token)
    register_secret(tokens.refresh_token)
    return tokens


def save_tokens(config: Config, provider: str, account: str, tokens: TokenSet) -> None:
    """Atomic (file store) / single call (keyring): the new refresh token is never lost."""
    from .http import register_secret

    register_secret(tokens.access_token)
    register_secret(tokens.refresh_token)
    config.secrets.set(token_key(provider, account), json.dumps(tokens.to_dict()))


def delete_tokens(config: Config, provider: str, account: str) -> None:
    config.secrets.delete(token_key(provider, account))
