"""parcelctl config get|set|unset|show — dotted keys; secrets go to the secret store."""

from __future__ import annotations

import typer

app = typer.Typer(help="Read and change settings (dotted keys, e.g. "
                  "providers.kuaidi100.customer).", no_args_is_help=True)

REDACTED = "******"


@app.command("get")
def get(key: str = typer.Argument(..., help="Dotted key.")) -> None:
    """Print one value (secrets are shown redacted)."""
    from ..config import is_secret_key
    from ..errors import UsageError
    from .common import load_config

    config = load_config()
    if is_secret_key(key):
        value = config.get_secret(key)
        if value is None:
            raise UsageError(f"'{key}' is not set")
        typer.echo(REDACTED)
        return
    found = config.get(key)
    if found is None:
        raise UsageError(f"'{key}' is not set")
    typer.echo(_render(found))


@app.command("set")
def set_(key: str = typer.Argument(..., help="Dotted key."),
         value: str = typer.Argument(..., help="TOML value (30, true, [\"a\"]) or a string."),
         ) -> None:
    """Set a value; secret keys are stored in the keyring (or a 0600 file), never in TOML."""
    from ..config import is_secret_key, parse_value
    from .common import load_config
    from .output import info

    config = load_config()
    parsed = parse_value(value)
    if is_secret_key(key):
        # Quoted the TOML way ('"abc"'), a secret means what it means for every other key;
        # anything else (digits, symbols) is taken exactly as typed.
        secret = parsed if isinstance(parsed, str) else value
        _validate(key, secret)
        config.set(key, secret)
        info(f"{key} = {REDACTED} (stored in the {config.secrets.backend} secret store)")
        return
    _validate(key, parsed)
    config.set(key, parsed)
    info(f"{key} = {_render(parsed)}")


@app.command("unset")
def unset(key: str = typer.Argument(..., help="Dotted key.")) -> None:
    """Remove a value (or a secret)."""
    from ..errors import UsageError
    from .common import load_config
    from .output import info

    if not load_config().unset(key):
        raise UsageError(f"'{key}' is not set")
    info(f"{key} removed")


@app.command("show")
def show(json_out: bool = typer.Option(False, "--json", help="JSON object.")) -> None:
    """Print the whole configuration, secrets redacted."""
    from ..config import flatten
    from .common import load_config
    from .output import print_json

    config = load_config()
    values = dict(flatten(config.data))
    for key in config.secrets.names():
        if not key.startswith("tokens."):
            values[key] = REDACTED
    if json_out:
        print_json(values)
        return
    typer.echo(f"# {config.paths.config_file}")
    for key in sorted(values):
        typer.echo(f"{key} = {_render(values[key]) if values[key] != REDACTED else REDACTED}")


def _render(value: object) -> str:
    import json

    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def _validate(key: str, value: object) -> None:
    """Catch the mistakes that would otherwise surface much later, inside a cron job."""
    from ..config import split_key
    from ..config_keys import check

    split_key(key)  # "not a valid key" comes first
    check(key, value)
