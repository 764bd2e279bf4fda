"""parcelctl sandbox serve|use|leave — the local simulator of every supported protocol, and
pointing the current home at it and back."""

from __future__ import annotations

import typer

from ..sandbox.server import DEFAULT_PORT

app = typer.Typer(help="The local simulator of the supported services.", no_args_is_help=True)


@app.command("serve")
def serve(
    port: int = typer.Option(DEFAULT_PORT, "--port", min=0, max=65535,
                             help=f"Port on 127.0.0.1 (default {DEFAULT_PORT}; 0 = any free "
                             "port)."),
    json_out: bool = typer.Option(False, "--json", help="Print the credentials as one JSON "
                                  "line keyed by provider name."),
    orders: int = typer.Option(24, "--orders", min=0, help="Shop orders in the dataset."),
    latency_ms: float = typer.Option(0.0, "--latency-ms", min=0.0,
                                     help="Added to every request (benchmarks)."),
) -> None:
    """Serve simulated Kuaidi100, 17TRACK, Cainiao, Kuaishou, Taobao and Douyin on 127.0.0.1.

    Examples:

      parcelctl sandbox serve &          # then, in this home: parcelctl sandbox use

      parcelctl sandbox serve --port 0 --json
    """
    import json
    import sys

    from ..errors import UsageError
    from ..sandbox.server import RunningSandbox, Sandbox

    try:
        running = RunningSandbox(Sandbox(orders=orders), port=port)
    except OSError as exc:
        hint = ("is a sandbox already running there? Otherwise choose another --port"
                if port else "choose another --port")
        raise UsageError(f"cannot listen on 127.0.0.1:{port} ({exc.strerror})",
                         hint=hint) from None
    running.sandbox.latency = latency_ms / 1000.0
    credentials = running.sandbox.credentials()
    if json_out:
        sys.stdout.write(json.dumps(credentials, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(f"sandbox on {running.base_url} (Ctrl-C to stop)\n")
        use = "parcelctl sandbox use" + (f" --port {running.port}"
                                         if running.port != DEFAULT_PORT else "")
        sys.stdout.write(f"point this home at it: {use}   (and back: parcelctl sandbox "
                         "leave)\n")
        for name, table in credentials.items():
            sys.stdout.write(f"[providers.{name}]\n")
            for key, value in table.items():
                sys.stdout.write(f"  {key} = {value}\n")
        sys.stdout.write(f"control: {running.base_url}/_sandbox/stats\n")
    sys.stdout.flush()
    try:
        running.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        running.stop()


@app.command("use")
def use(
    port: int = typer.Option(DEFAULT_PORT, "--port", min=1, max=65535,
                             help="The port 'sandbox serve' listens on."),
) -> None:
    """Point every provider of this home at the sandbox (undo with 'sandbox leave').

    The settings it replaces, your real keys included, are kept in the secret store and
    put back by 'parcelctl sandbox leave'.

    Examples:

      parcelctl sandbox use

      parcelctl sandbox use --port 9000
    """
    from .. import sandbox_home
    from .common import load_config
    from .output import info

    config = load_config()
    url = f"http://127.0.0.1:{port}"
    count = sandbox_home.use(config, url)
    info(f"{count} settings now point at the sandbox on {url} "
         f"({config.paths.config_file}); back with: parcelctl sandbox leave")
    info("the sandbox must be running: parcelctl sandbox serve"
         + (f" --port {port}" if port != DEFAULT_PORT else ""))


@app.command("leave")
def leave() -> None:
    """Put back the settings 'sandbox use' replaced.

    Example:

      parcelctl sandbox leave
    """
    from .. import sandbox_home
    from .common import load_config
    from .output import info

    count = sandbox_home.leave(load_config())
    info(f"{count} settings put back as they were before 'parcelctl sandbox use'")
