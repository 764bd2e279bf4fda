"""Help that teaches: plain metavars instead of type names, an Examples section under every
command, and the nearest command for a typo.

Applied to the click command tree that Typer builds (``polish``), so command modules keep
their options as they are and every command gets the same treatment in one place.
"""

from __future__ import annotations

from typing import Any

#: option or argument name -> what its value is, as the help shows it.
METAVARS = {
    "numbers": "NUMBER", "number": "NUMBER", "carrier": "CODE", "provider": "NAME",
    "phone": "LAST4", "label": "TEXT", "text": "TEXT", "status": "STATUS", "shop": "TEXT",
    "limit": "N", "fmt": "FORMAT", "query": "QUERY", "account": "NAME", "timeout": "SECONDS",
    "ref": "REF", "interval": "SECONDS", "rounds": "N", "since": "AGE", "source": "FILE",
    "field": "NAME", "host": "ADDRESS", "port": "PORT", "every": "INTERVAL", "key": "KEY",
    "value": "VALUE", "prefix": "PREFIX", "orders": "N", "latency_ms": "MS",
}

#: command path -> example lines (each a command a reader can copy).
EXAMPLES: dict[str, tuple[str, ...]] = {
    "add": ("parcelctl add YT6247854916511",
            "parcelctl add SF1321934960512 --phone 1234 --label 'running shoes'",
            "parcelctl add 75312345678901 --carrier zhongtong",
            "cut -f1 numbers.txt | parcelctl add - --no-track"),
    "sync": ("parcelctl sync", "parcelctl sync --quiet --no-wait      # from cron",
             "parcelctl sync --provider kuaishou --json"),
    "list": ("parcelctl list", "parcelctl list 圆通                   # find by text",
             "parcelctl list --status 待取件", "parcelctl list --status delivered -n 3",
             "parcelctl list --attention", "parcelctl list --all --format csv > parcels.csv"),
    "show": ("parcelctl show YT6247854916511", "parcelctl show KS-2023061512345 --json",
             "parcelctl show 1234567890 --carrier yunda"),
    "archive": ("parcelctl archive YT6247854916511",
                "parcelctl archive YT6247854916511 --undo"),
    "rm": ("parcelctl rm YT6247854916511", "parcelctl rm YT6247854916511 --yes"),
    "label": ("parcelctl label YT6247854916511 'gift for mum'",
              "parcelctl label YT6247854916511 --clear"),
    "link": ("parcelctl link kuaishou", "parcelctl link kuaishou --account shop2 --no-browser",
             "parcelctl link taobao --paste"),
    "unlink": ("parcelctl unlink kuaishou", "parcelctl unlink kuaishou:shop2 --purge --yes"),
    "accounts": ("parcelctl accounts", "parcelctl accounts --json"),
    "watch": ("parcelctl watch", "parcelctl watch --interval 120",
              "parcelctl watch | tee changes.log     # plain change lines"),
    "digest": ("parcelctl digest", "parcelctl digest --since 7d",
               "parcelctl digest --send                # through the notification channels"),
    "providers": ("parcelctl providers", "parcelctl providers --json"),
    "carriers": ("parcelctl carriers", "parcelctl carriers 顺丰", "parcelctl carriers jt"),
    "demo": ("parcelctl demo", "parcelctl demo --keep"),
    "import": ("parcelctl import sms.txt", "pbpaste | parcelctl import - --dry-run",
               "parcelctl import messages.jsonl --field content --json",
               "parcelctl import --serve               # for an SMS-forwarding app"),
    "collected": ("parcelctl collected 3-2-1107", "parcelctl collected YT6247854916511"),
    "cron install": ("parcelctl cron install", "parcelctl cron install --every 1h",
                     "parcelctl cron install --systemd"),
    "cron remove": ("parcelctl cron remove",),
    "cron show": ("parcelctl cron show",),
    "config get": ("parcelctl config get polling.stale_days",),
    "config set": ("parcelctl config set providers.kuaidi100.customer ABC123",
                   "parcelctl config set providers.kuaidi100.key      # asks, hidden",
                   "printf %s \"$KEY\" | parcelctl config set providers.kuaidi100.key -",
                   "parcelctl config set notify.on '[\"delivered\", \"exception\"]'"),
    "config unset": ("parcelctl config unset notify.quiet_hours",),
    "config show": ("parcelctl config show", "parcelctl config show --json"),
    "config keys": ("parcelctl config keys", "parcelctl config keys providers.kuaidi100"),
    "sandbox serve": ("parcelctl sandbox serve", "parcelctl sandbox serve --json --port 0"),
    "sandbox use": ("parcelctl sandbox use",),
    "sandbox leave": ("parcelctl sandbox leave",),
}

#: Words people try that name no command, and the command that does it.
ALIASES = {"search": "list QUERY", "find": "list QUERY", "ls": "list", "info": "show",
           "track": "add", "delete": "rm", "remove": "rm", "login": "link",
           "logout": "unlink", "update": "sync", "refresh": "sync", "settings": "config",
           "sms": "import"}


def polish(command: Any, path: str = "") -> None:
    """Metavars and examples for ``command`` and every subcommand below it."""
    subcommands = getattr(command, "commands", None)
    if subcommands:
        for name, sub in subcommands.items():
            polish(sub, f"{path} {name}".strip())
        return
    for param in command.params:
        _plain(param)
    examples = EXAMPLES.get(path)
    if examples and not command.epilog:
        # "\b": click keeps the lines as they are instead of re-wrapping them.
        command.epilog = "\b\nExamples:\n" + "\n".join(f"  {line}" for line in examples)


#: --json says the same everywhere (issue 17: help that teaches).
JSON_HELP = "Print JSON instead of text (stable fields: docs/json.md)."


def _plain(param: Any) -> None:
    if param.name == "json_out":
        param.help = JSON_HELP
    if getattr(param, "is_flag", False) or param.name in (None, "help"):
        return
    metavar = param.metavar or METAVARS.get(param.name, param.name.upper())
    param.metavar = metavar
    if getattr(param, "param_type_name", "") == "argument":
        # Typer prints an argument as "{name}... <list[str]>"; a reader wants NUMBER...
        many = "..." if param.nargs != 1 else ""
        usage = f"{metavar}{many}" if param.required else f"[{metavar}{many}]"
        param.display_type = lambda ctx: ""
        param._usage_display_name = lambda: usage


def unknown_command(word: str, commands: list[str]) -> str:
    """The one-line answer to ``parcelctl WORD`` when WORD is no command."""
    if word in ALIASES:
        return f"no command '{word}'; to do that, use: parcelctl {ALIASES[word]}"
    import difflib  # only for a typo: list's start-up never needs it

    near = difflib.get_close_matches(word, commands, n=1, cutoff=0.6)
    if near:
        return f"no command '{word}'; did you mean 'parcelctl {near[0]}'?"
    return f"no command '{word}'; see 'parcelctl --help' for the list"
