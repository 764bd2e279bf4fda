"""Providers: the only code that knows a remote protocol (one module per service)."""
