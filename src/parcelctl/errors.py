"""One exception hierarchy. Providers raise; only ``cli/`` prints.

Every message is one line that says what went wrong and what to do next, and never
contains a secret (``http.redact`` scrubs anything that reaches a message).
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2
    PARTIAL = 3
    AUTH_NEEDED = 4
    LOCKED = 5
    INTERRUPTED = 130


class ParcelctlError(Exception):
    """Base of every expected error. ``str(err)`` is the one line shown to the user."""

    exit_code: ExitCode = ExitCode.ERROR

    def __init__(self, message: str, *, provider: str | None = None, hint: str | None = None):
        self.provider = provider
        self.hint = hint
        self.message = message
        super().__init__(self.render())

    def render(self) -> str:
        prefix = f"{self.provider}: " if self.provider else ""
        suffix = f" — {self.hint}" if self.hint else ""
        return f"{prefix}{self.message}{suffix}"


class UsageError(ParcelctlError):
    """Bad input from the user (malformed number, unknown provider, bad value)."""


class ConfigError(ParcelctlError):
    """config.toml or the secret store is broken or incomplete."""


class StoreError(ParcelctlError):
    """The SQLite file is not ours, is corrupt, or is too new."""


class LockedError(ParcelctlError):
    exit_code = ExitCode.LOCKED


class ProviderError(ParcelctlError):
    """A remote service failed. ``retryable`` says whether a later run may succeed."""

    retryable: bool = False


class TransientError(ProviderError):
    """Network trouble, 5xx, throttling: try again later."""

    retryable = True


class RateLimited(TransientError):
    def __init__(self, message: str, *, provider: str | None = None,
                 retry_after: float | None = None, hint: str | None = None):
        self.retry_after = retry_after
        super().__init__(message, provider=provider, hint=hint)


class AuthError(ProviderError):
    """Credentials rejected (wrong key, bad signature): fix the configuration."""


class AuthorizationNeeded(ProviderError):
    """A linked account's authorization expired or was revoked: run ``parcelctl link``."""

    exit_code = ExitCode.AUTH_NEEDED


class QuotaExceeded(ProviderError):
    """Paid quota used up or daily cap reached."""


class PhoneRequired(ProviderError):
    """The carrier needs the phone number (or its last 4 digits) before a query."""


#: What a bug report needs. The project has no public home yet, so no address is named
#: (an invented one would send people nowhere); see [project.urls] in pyproject.toml.
REPORT_WITH = "the output of the same command run with --debug and the parcelctl.log file"


class ProviderChanged(ProviderError):
    """A payload no longer parses: the remote API changed (or sent garbage)."""

    def __init__(self, message: str, *, provider: str | None = None, hint: str | None = None):
        super().__init__(
            message,
            provider=provider,
            hint=hint
            or "the service answered in an unexpected format; try again later, and if it "
            f"persists report it with {REPORT_WITH}",
        )
