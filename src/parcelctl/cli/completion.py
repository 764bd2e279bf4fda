"""Shell completion: commands, options, provider names, statuses, carrier codes and the
tracking numbers in the store.

Loaded only when the shell asks for completions (``_PARCELCTL_COMPLETE`` is set) or for
``--install-completion`` / ``--show-completion``: ``parcelctl list`` never imports it, nor
the full command tree (benchmarks: start-up). Values are attached by parameter name across
the whole tree, so a new command's ``--carrier`` or ``NUMBER`` completes without wiring.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, NoReturn

#: Environment variable the shell scripts set ("_" + program name + "_COMPLETE").
COMPLETE_VAR = "_PARCELCTL_COMPLETE"
#: Tracking numbers offered at most, newest change first.
MAX_NUMBERS = 200

Completer = Callable[[str], list[tuple[str, str]]]


def requested() -> bool:
    return bool(os.environ.get(COMPLETE_VAR))


def complete() -> NoReturn:
    """Answer the shell's completion request and exit (click's protocol)."""
    from typer.main import get_command

    from .app import build_app

    command = get_command(build_app())
    attach(command)
    command.main(args=[], prog_name="parcelctl", complete_var=COMPLETE_VAR)
    raise SystemExit(0)  # main() exits itself; this is for the type checker


def attach(command: Any, path: tuple[str, ...] = ()) -> None:
    """Give every parameter that names a provider, status, carrier or parcel its values."""
    for param in command.params:
        completer = _completer_for(path, param.name or "")
        if completer is not None:
            param._custom_shell_complete = _adapt(completer)
    for name, sub in (getattr(command, "commands", None) or {}).items():
        attach(sub, (*path, name))


def _completer_for(path: tuple[str, ...], name: str) -> Completer | None:
    if path and path[0] == "link" and name == "provider":
        return platforms
    if name == "provider":
        return providers
    if name in ("status", "statuses"):
        return statuses
    if name == "carrier" or (path == ("carriers",) and name == "query"):
        return carrier_codes
    if name in ("number", "numbers"):
        return numbers
    if path and path[0] == "unlink" and name == "ref":
        return accounts
    if path[:1] == ("config",) and name == "key":
        return config_keys
    return None


def _adapt(completer: Completer) -> Callable[[Any, Any, str], list[Any]]:
    try:  # typer >= 0.29 vendors click
        from typer._click.shell_completion import (  # type: ignore[import-not-found,unused-ignore]
            CompletionItem,
        )
    except ImportError:  # pragma: no cover - depends on the installed typer
        from click.shell_completion import (  # type: ignore[no-redef,import-not-found,assignment,unused-ignore]
            CompletionItem,
        )

    def run(ctx: Any, param: Any, incomplete: str) -> list[Any]:
        try:
            found = completer(incomplete)
        except Exception:  # a broken store or config must not break the user's shell
            return []
        return [CompletionItem(value, help=help or None) for value, help in found]

    return run


# -- the values ----------------------------------------------------------------------------

def providers(incomplete: str) -> list[tuple[str, str]]:
    from ..providers import registry

    return [(name, "") for name in registry.names() if name.startswith(incomplete)]


def platforms(incomplete: str) -> list[tuple[str, str]]:
    from ..providers import registry

    found = []
    for name in registry.names():
        if not name.startswith(incomplete):
            continue
        try:
            cls = registry.load(name)
        except Exception:  # noqa: S112 - a broken plugin is simply not offered
            continue
        if cls.kind == "platform":
            found.append((name, str(getattr(cls, "display_name", ""))))
    return found


def statuses(incomplete: str) -> list[tuple[str, str]]:
    from ..status import Status

    return [(s.value, f"{s.label_zh} {s.label_en}") for s in Status
            if s.value.startswith(incomplete)]


def carrier_codes(incomplete: str) -> list[tuple[str, str]]:
    from ..carriers import CARRIER_NAMES

    needle = incomplete.lower()
    return [(code, f"{zh} {en}") for code, (zh, en) in CARRIER_NAMES.items()
            if code.startswith(needle)]


def _database() -> Any:
    """The store read-only, or None when there is none yet (never created by completing)."""
    import sqlite3

    from ..config import get_paths

    path = get_paths().db_file
    if not path.exists():
        return None
    db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=0.5)
    return db


def numbers(incomplete: str) -> list[tuple[str, str]]:
    from ..status import normalize_number

    db = _database()
    if db is None:
        return []
    prefix = normalize_number(incomplete).replace("\\", "\\\\").replace("%", "\\%") \
        .replace("_", "\\_")
    try:
        rows = db.execute(
            "SELECT number, carrier, coalesce(nullif(label, ''), title, '') FROM parcels"
            " WHERE number LIKE ? ESCAPE '\\' AND number != ''"
            " ORDER BY updated_at DESC LIMIT ?", (prefix + "%", MAX_NUMBERS)).fetchall()
    finally:
        db.close()
    return [(str(number), " ".join(str(x) for x in (carrier, title) if x))
            for number, carrier, title in rows]


def accounts(incomplete: str) -> list[tuple[str, str]]:
    db = _database()
    if db is None:
        return []
    try:
        rows = db.execute("SELECT provider, account FROM accounts ORDER BY provider, account")
        refs = [f"{provider}:{account}" for provider, account in rows]
    finally:
        db.close()
    return [(ref, "") for ref in refs if ref.startswith(incomplete)]


def config_keys(incomplete: str) -> list[tuple[str, str]]:
    """The keys of every provider's table, and the general keys config_keys knows."""
    from ..providers import registry

    keys: dict[str, str] = {"providers.tracking.default": "tracking provider for add"}
    try:
        from .. import config_keys as known

        table = getattr(known, "_known", None)
        if callable(table):
            keys.update({str(k): "" for k in table()})
    except Exception:  # noqa: S110 - completion offers what it can
        pass
    for name in registry.names():
        try:
            cls = registry.load(name)
        except Exception:  # noqa: S112 - a broken plugin is simply not offered
            continue
        for key in cls.config_keys:
            keys[f"providers.{name}.{key.name}"] = str(getattr(key, "help", "") or "")
    return [(key, help) for key, help in sorted(keys.items()) if key.startswith(incomplete)]
