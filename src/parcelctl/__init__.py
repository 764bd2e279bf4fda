"""parcelctl: parcels from every platform and carrier, in the terminal and from cron."""

__version__ = "0.1.0"
