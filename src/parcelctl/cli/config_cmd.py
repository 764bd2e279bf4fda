"""parcelctl config get|set|unset|show|keys — dotted keys; secrets go to the secret store."""

from __future__ import annotations

from typing import Any

import typer

app = typer.Typer(help="Read and change settings. Keys are dotted, such as "
                  "providers.kuaidi100.customer.", no_args_is_help=True)

REDACTED = "******"


@app.command("get")
def get(key: str = typer.Argument(..., help="Dotted key.")) -> None:
    """Print the value in effect (secrets are shown redacted); says when it is the default."""
    from ..config import is_secret_key, split_key
    from ..config_reference import default_of
    from ..errors import UsageError
    from .common import load_config

    split_key(key)
    config = load_config()
    known, default = default_of(key)
    if is_secret_key(key):
        if config.get_secret(key) is None and config.get(key) is None:
            raise UsageError(f"'{key}' is not set",
                             hint=f"set it with: parcelctl config set {key} (asks for it)")
        typer.echo(REDACTED)
        return
    found = config.get(key)
    if found is not None:
        typer.echo(_render(found))
        return
    if not known:
        from ..config_keys import require_known

        require_known(key)  # "did you mean …" for a typo
        raise UsageError(f"'{key}' is not set")
    if default is None:
        raise UsageError(f"'{key}' is not set and has no default",
                         hint="parcelctl config keys explains it")
    typer.echo(_render(default))
    typer.echo(f"({key} is not set: this is the default)", err=True)  # stdout: the value


@app.command("set", context_settings={"ignore_unknown_options": True})
def set_(key: str = typer.Argument(..., help="Dotted key."),
         value: str | None = typer.Argument(
             None, help="TOML value (30, true, [\"a\"]) or a string; '-' reads it from "
             "stdin; left out on a terminal, it is asked for (hidden for secrets)."),
         ) -> None:
    """Set a value; secret keys are stored in the keyring (or a 0600 file), never in TOML."""
    from ..config import is_secret_key, parse_value, split_key
    from .common import load_config
    from .output import info

    split_key(key)
    secret = is_secret_key(key)
    raw = _read_value(key, value, secret=secret)
    config = load_config()
    parsed = parse_value(raw)
    if secret:
        # Quoted the TOML way ('"abc"'), a secret means what it means for every other key;
        # anything else (digits, symbols) is taken exactly as typed. A list of Apprise URLs
        # stays a list.
        stored: Any = parsed if isinstance(parsed, str | list) else raw
        _validate(key, stored)
        config.set(key, stored)
        info(f"{key} = {REDACTED} (stored in the {config.secrets.backend} secret store)")
        return
    _validate(key, parsed)
    if key == "secrets.backend" and parsed == "keyring":
        _require_keyring()
    config.set(key, parsed)
    info(f"{key} = {_render(parsed)}")


def _read_value(key: str, value: str | None, *, secret: bool) -> str:
    """The value as typed: from argv, from stdin (``-``), or from a prompt. argv is seen by
    every user of the machine (``ps``) and kept in shell history: a secret belongs in the
    other two."""
    import sys

    from ..errors import UsageError

    if value == "-":
        text = sys.stdin.read()
        text = text[:-1] if text.endswith("\n") else text
        text = text[:-1] if text.endswith("\r") else text
        if not text.strip():
            raise UsageError(f"no value for {key} on stdin")
        return text
    if value is not None:
        return value
    if sys.stdin is None or not sys.stdin.isatty():
        raise UsageError(f"no value given for {key}",
                         hint=f"run: parcelctl config set {key} VALUE, or pipe it in with "
                              f"'-': ... | parcelctl config set {key} -")
    try:
        typed: str = typer.prompt(f"{key}", hide_input=secret)
    except typer.Abort:
        raise UsageError("cancelled: nothing was changed") from None
    if not typed.strip():
        raise UsageError(f"no value given for {key}")
    return typed


def _require_keyring() -> None:
    from ..config import keyring_usable
    from ..errors import UsageError

    if not keyring_usable():
        raise UsageError("no usable system keyring was found on this machine",
                         hint="keep the default (a 0600 secrets.json beside config.toml) or "
                              "run: parcelctl config set secrets.backend file")


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
    from ..config import flatten, is_secret_key
    from ..errors import ConfigError
    from .common import load_config
    from .output import print_json, warn

    config = load_config()
    values = dict(flatten(config.data))
    for key in values:
        if is_secret_key(key):  # a secret left in config.toml by an older version
            values[key] = REDACTED
    try:
        names = config.secrets.names()
    except ConfigError as exc:
        # The settings stay readable when the secret store is not: that is how one finds
        # the setting to change.
        names = []
        warn(f"secrets not listed: {exc.render()}")  # stderr: --json stays JSON
    for key in names:
        if not key.startswith("tokens."):
            values[key] = REDACTED
    if json_out:
        print_json(values)
        return
    typer.echo(f"# {config.paths.config_file}")
    for key in sorted(values):
        typer.echo(f"{key} = {_render(values[key]) if values[key] != REDACTED else REDACTED}")


@app.command("keys")
def keys(prefix: str = typer.Argument("", help="Only keys starting with this, e.g. "
                                      "providers.kuaidi100."),
         json_out: bool = typer.Option(False, "--json", help="JSON list of objects.")) -> None:
    """List every setting (providers' own included) with its type, default and meaning."""
    from ..config_reference import reference
    from ..errors import UsageError
    from .output import print_json

    docs = reference(prefix)
    if not docs:
        raise UsageError(f"no setting starts with {prefix!r}",
                         hint="run: parcelctl config keys")
    if json_out:
        print_json([{"key": d.key, "type": d.type, "default": d.default, "secret": d.secret,
                     "help": d.help} for d in docs])
        return
    for doc in docs:
        default = "" if doc.default in (None, "", [], {}) else f"  default {_render(doc.default)}"
        secret = "  secret" if doc.secret else ""
        typer.echo(f"{doc.key}  ({doc.type}){default}{secret}")
        if doc.help:
            typer.echo(f"    {doc.help}")


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
