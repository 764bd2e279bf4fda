"""``python -m parcelctl`` (used by the cron line and the tests)."""

from parcelctl.cli.app import main

main()
