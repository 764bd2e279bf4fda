"""The command-line interface: one module per command, all Rich output in output.py."""
