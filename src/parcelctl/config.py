"""Paths, config.toml and the secret store.

* ``PARCELCTL_HOME`` puts everything under one directory; otherwise platformdirs locations.
* config.toml is read with tomllib and written with tomli-w atomically (temp file + rename),
  owner-only.
* Secrets never live in config.toml: the system keyring when one is usable, otherwise a 0600
  ``secrets.json`` beside config.toml. With ``PARCELCTL_HOME`` set the file backend is the
  default, so a throwaway home (tests, ``parcelctl demo``) never touches the real keyring;
  ``PARCELCTL_SECRETS=keyring|file`` forces a backend.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ConfigError, UsageError
from .homefiles import _chmod, explain_os_error, make_private_dir, open_private
from .homefiles import atomic_write as atomic_write

APP = "parcelctl"

#: Settings outside provider tables whose values go to the secret store (a provider's own
#: keys are secret when it declares them ``secret=True``: see config_keys.is_secret).
CORE_SECRET_KEYS = frozenset({"notify.webhook.url", "notify.webhook.secret",
                              "notify.apprise.urls"})


@dataclass(frozen=True, slots=True)
class Paths:
    config_dir: Path
    data_dir: Path
    state_dir: Path

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"

    @property
    def secrets_file(self) -> Path:
        return self.config_dir / "secrets.json"

    @property
    def db_file(self) -> Path:
        return self.data_dir / "parcels.db"

    @property
    def lock_file(self) -> Path:
        return self.state_dir / "sync.lock"

    @property
    def log_file(self) -> Path:
        return self.state_dir / "parcelctl.log"

    def ensure(self) -> None:
        for directory in {self.config_dir, self.data_dir, self.state_dir}:
            make_private_dir(directory)
            _chmod(directory, 0o700)

    def check_owner(self) -> None:
        """Refuse a home someone else owns: they could read the secrets written into it,
        or swap its files for links."""
        uid = os.geteuid()
        for directory in {self.config_dir, self.data_dir, self.state_dir}:
            try:
                owner = directory.stat().st_uid
            except OSError:
                continue  # created (as ours) when first written
            if owner != uid:
                raise ConfigError(f"{directory} belongs to another user (uid {owner})",
                                  hint="use a home of your own, e.g. PARCELCTL_HOME=~/parcels")


def get_paths() -> Paths:
    home = os.environ.get("PARCELCTL_HOME")
    if home:
        root = Path(home).expanduser()
        if root.exists() and not root.is_dir():
            raise ConfigError(f"PARCELCTL_HOME={home} is a file, not a directory",
                              hint="point PARCELCTL_HOME at a directory (a missing one is "
                                   "created)")
        return Paths(root, root, root)
    import platformdirs

    return Paths(
        Path(platformdirs.user_config_dir(APP)),
        Path(platformdirs.user_data_dir(APP)),
        Path(platformdirs.user_state_dir(APP)),
    )




@contextmanager
def writers_take_turns(path: Path) -> Iterator[None]:
    """An exclusive ``flock`` on ``PATH.lock`` around a read-modify-write of ``path``.

    Released when the block ends, or by the kernel if the process dies."""
    import fcntl

    make_private_dir(path.parent)
    fd = open_private(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


# -- dotted keys ----------------------------------------------------------------------------

def split_key(key: str) -> list[str]:
    parts = key.strip().split(".")
    if not key.strip() or any(not p or not all(c.isalnum() or c in "_-" for c in p)
                              for p in parts):
        raise UsageError(f"'{key}' is not a valid key",
                         hint="use dotted names such as providers.kuaidi100.customer")
    return parts


def is_secret_key(key: str) -> bool:
    """Whether ``key``'s value belongs in the secret store: by declaration, not by name."""
    if key.split(".")[0] != "providers":
        return key in CORE_SECRET_KEYS
    from .config_keys import is_secret

    return is_secret(key)


def parse_value(raw: str) -> Any:
    """A TOML value when it is one (``30``, ``true``, ``["a"]``), else the string itself."""
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def get_in(data: Mapping[str, Any], parts: list[str]) -> Any:
    node: Any = data
    for part in parts:
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def flatten(data: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from flatten(value, dotted + ".")
        else:
            yield dotted, value


def _not_a_section(key: str, current: Any, action: str) -> None:
    """A mistyped key one level too short must not wipe a provider's whole table."""
    if isinstance(current, Mapping) and current:
        raise UsageError(f"'{key}' is a section with {len(current)} settings; {action} them all",
                         hint=f"name one key inside it (parcelctl config show lists them), "
                              f"e.g. {key}.{next(iter(current))}")


# -- config ---------------------------------------------------------------------------------

class Config:
    """config.toml plus the secret store, addressed with dotted keys."""

    def __init__(self, paths: Paths | None = None) -> None:
        self.paths = paths or get_paths()
        self.paths.check_owner()
        self.data = self._load()
        self._secrets: SecretStore | None = None
        self._checked: set[str] = set()

    def _load(self) -> dict[str, Any]:
        path = self.paths.config_file
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
        try:
            return tomllib.loads(raw.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"{path} is not valid TOML ({exc})",
                hint="fix the file by hand, or move it away to start over",
            ) from None

    @property
    def secrets(self) -> SecretStore:
        if self._secrets is None:
            self._secrets = open_secret_store(self.paths, self.get("secrets.backend"))
        return self._secrets

    def get(self, key: str) -> Any:
        """The value of ``key`` (a secret one from the secret store), checked like
        ``config set`` would: a hand-edited ``stale_days = 1e6`` is one line naming the key,
        not an overflow in the middle of a sync."""
        value = get_in(self.data, split_key(key))
        # The store's names are read without unlocking a keyring: a key never stored as a
        # secret costs nothing and cannot fail.
        if key in CORE_SECRET_KEYS and key in self.secrets.names():
            stored = self.get_secret(key)
            if stored is not None:
                value = _decode_secret(stored)
        # Only numbers and tables need the rules (list and show read a language name here
        # and must not pay for importing them).
        if (isinstance(value, int | float | Mapping) and not isinstance(value, bool)
                and key not in self._checked):
            from .config_keys import check_loaded

            if isinstance(value, Mapping):
                for sub, item in flatten(value, key + "."):
                    check_loaded(sub, item, self.paths.config_file)
            else:
                check_loaded(key, value, self.paths.config_file)
            self._checked.add(key)
        return value

    def get_in_file(self, key: str) -> Any:
        """The value as written in config.toml, unchecked (secrets not looked up)."""
        return get_in(self.data, split_key(key))

    def number(self, key: str, default: float) -> float:
        """A numeric setting, or ``default`` when unset. A hand-edited ``timeout = "abc"``
        is one line naming the key, not "unexpected error: ValueError … report it"."""
        value = self.get(key)
        if value is None:
            return default
        if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
            return float(value)
        raise ConfigError(f"{key} in {self.paths.config_file} must be a number, not {value!r}",
                          hint=f"run: parcelctl config set {key} {default:g}")

    def get_secret(self, key: str) -> str | None:
        from .redaction import register_secret

        value = self.secrets.get(key)
        register_secret(value)
        return value

    def set(self, key: str, value: Any) -> None:
        parts = split_key(key)
        if isinstance(value, Mapping):
            # A whole table in one go would also slip its secrets past the secret store.
            raise UsageError(f"'{key}' takes one value, not a table",
                             hint=f"set each key on its own: parcelctl config set {key}.NAME "
                                  "VALUE")
        if is_secret_key(key):
            self.secrets.set(key, _encode_secret(value))
            self._drop(parts)  # a secret must never linger in config.toml
            return

        def put(data: dict[str, Any]) -> bool:
            node = data
            for part in parts[:-1]:
                child = node.setdefault(part, {})
                if not isinstance(child, dict):
                    raise UsageError(f"'{key}' cannot be set: '{part}' already holds a value")
                node = child
            _not_a_section(key, node.get(parts[-1]), "setting it would replace")
            node[parts[-1]] = value
            return True

        self._edit(put)
        self._checked.discard(key)

    def unset(self, key: str) -> bool:
        parts = split_key(key)
        # Both places, whatever the key's kind: a value stored before a key was declared
        # secret (or by an older version) must not survive an unset.
        try:
            found = key in self.secrets.names() and self.secrets.delete(key)
        except ConfigError:
            if is_secret_key(key):
                raise
            found = False  # an unusable secret store must not block `unset secrets.backend`
        return self._drop(parts) or found

    def _drop(self, parts: list[str]) -> bool:
        def drop(data: dict[str, Any]) -> bool:
            parent = get_in(data, parts[:-1]) if len(parts) > 1 else data
            if isinstance(parent, dict) and parts[-1] in parent:
                _not_a_section(".".join(parts), parent[parts[-1]], "unsetting it would remove")
                del parent[parts[-1]]
                return True
            return False

        return self._edit(drop)

    def _edit(self, change: Callable[[dict[str, Any]], bool]) -> bool:
        """Apply ``change`` to config.toml as it is on disk now, under a lock; save if it
        says it changed something. Applied to the copy loaded when this Config was made,
        two ``config set`` at once (or a long ``link`` and a ``config set``) each wrote back
        their own old copy, and one change was lost."""
        with writers_take_turns(self.paths.config_file):  # save() makes the directories
            data = self._load()
            changed = change(data)
            self.data = data
            if changed:
                self.save()
        return changed

    def save(self) -> None:
        import tomli_w

        self.paths.ensure()
        atomic_write(self.paths.config_file, tomli_w.dumps(self.data).encode("utf-8"))

    def provider_settings(self, name: str, secret_keys: Iterable[str] = ()
                          ) -> dict[str, Any]:
        """The ``[providers.NAME]`` table with its secrets filled in from the secret store."""
        table = get_in(self.data, ["providers", name])
        settings: dict[str, Any] = dict(table) if isinstance(table, Mapping) else {}
        for key in secret_keys:
            value = self.get_secret(f"providers.{name}.{key}")
            if value is not None:
                settings[key] = value
        return settings


def _encode_secret(value: Any) -> str:
    """The secret store keeps text; a list (Apprise URLs) is kept as JSON."""
    if isinstance(value, list):
        import json

        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _decode_secret(stored: str) -> Any:
    if stored.startswith("["):
        import json

        try:
            return json.loads(stored)
        except ValueError:
            return stored
    return stored


# -- secrets ----------------------------------------------------------------------------

class SecretStore:
    backend = "none"

    def get(self, key: str) -> str | None:
        raise NotImplementedError

    def set(self, key: str, value: str) -> None:
        raise NotImplementedError

    def delete(self, key: str) -> bool:
        raise NotImplementedError

    def names(self) -> list[str]:
        raise NotImplementedError


class FileSecretStore(SecretStore):
    """A 0600 JSON file; every write is atomic so a crash never loses a refresh token."""

    backend = "file"

    def __init__(self, path: Path) -> None:
        self.path = path

    def _read(self) -> dict[str, str]:
        import json

        try:
            fd = open_private(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise explain_os_error(exc) or ConfigError(
                f"cannot read {self.path}: {exc.strerror}") from None
        with os.fdopen(fd, "rb") as handle:
            raw = handle.read().decode("utf-8", errors="replace")
        try:
            data = json.loads(raw)
        except ValueError:
            raise ConfigError(f"{self.path} is corrupt",
                              hint="restore it from a backup or delete it and re-enter secrets"
                              ) from None
        if not isinstance(data, dict):
            raise ConfigError(f"{self.path} is corrupt")
        return {str(k): str(v) for k, v in data.items()}

    def _write(self, data: dict[str, str]) -> None:
        import json

        atomic_write(self.path, json.dumps(data, indent=1, sort_keys=True).encode(), 0o600)

    def get(self, key: str) -> str | None:
        return self._read().get(key)

    def set(self, key: str, value: str) -> None:
        with self._writer():
            data = self._read()
            data[key] = value
            self._write(data)

    def delete(self, key: str) -> bool:
        with self._writer():
            data = self._read()
            if key in data:
                del data[key]
                self._write(data)
                return True
        return False

    @contextmanager
    def _writer(self) -> Iterator[None]:
        """Writers take turns (read-modify-write): ``sync`` saving rotated tokens while
        ``link`` or ``config set`` stores another secret must not drop either write."""
        with writers_take_turns(self.path):
            yield

    def names(self) -> list[str]:
        return sorted(self._read())


class KeyringSecretStore(SecretStore):
    """System keyring; key names are indexed in the file store (keyring cannot list)."""

    backend = "keyring"

    def __init__(self, index: FileSecretStore) -> None:
        import keyring

        self._keyring = keyring
        self.index = index

    def get(self, key: str) -> str | None:
        value: str | None = self._keyring.get_password(APP, key)
        return value

    def set(self, key: str, value: str) -> None:
        self._keyring.set_password(APP, key, value)
        self.index.set(key, "<keyring>")

    def delete(self, key: str) -> bool:
        import keyring.errors

        self.index.delete(key)
        try:
            self._keyring.delete_password(APP, key)
        except keyring.errors.PasswordDeleteError:
            return False
        return True

    def names(self) -> list[str]:
        return self.index.names()


def keyring_usable() -> bool:
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        return False
    try:
        backend = keyring.get_keyring()
    except Exception:  # a broken keyring setup must not break parcelctl
        return False
    priority = getattr(backend, "priority", 0)
    return not isinstance(backend, fail.Keyring) and priority >= 1


def open_secret_store(paths: Paths, configured: Any = None) -> SecretStore:
    choice = os.environ.get("PARCELCTL_SECRETS") or (str(configured) if configured else "")
    if not choice:
        choice = "file" if os.environ.get("PARCELCTL_HOME") else "auto"
    file_store = FileSecretStore(paths.secrets_file)
    if choice == "file":
        return file_store
    if choice in ("keyring", "auto") and keyring_usable():
        index = FileSecretStore(paths.config_dir / "secrets-index.json")
        return KeyringSecretStore(index)
    if choice == "keyring":
        if os.environ.get("PARCELCTL_SECRETS"):
            raise ConfigError("PARCELCTL_SECRETS=keyring, but no usable system keyring was "
                              "found", hint="unset PARCELCTL_SECRETS or set it to 'file'")
        raise ConfigError(f"secrets.backend is keyring in {paths.config_file}, but no usable "
                          "system keyring was found",
                          hint="run: parcelctl config set secrets.backend file (or unlock "
                               "the keyring)")
    return file_store
