"""parcelctl sandbox serve — the local simulator of every supported protocol."""

from __future__ import annotations

import typer

app = typer.Typer(help="The local simulator of the supported services.", no_args_is_help=True)


@app.command("serve")
def serve(
    port: int = typer.Option(0, "--port", min=0, max=65535, help="Port on 127.0.0.1 "
                             "(0 = any free port)."),
    json_out: bool = typer.Option(False, "--json", help="Print the credentials as one JSON "
                                  "line keyed by provider name."),
    orders: int = typer.Option(24, "--orders", min=0, help="Shop orders in the dataset."),
    latency_ms: float = typer.Option(0.0, "--latency-ms", min=0.0,
                                     help="Added to every request (benchmarks)."),
) -> None:
    """Serve simulated Kuaidi100, 17TRACK, Cainiao, Kuaishou, Taobao and Douyin on 127.0.0.1."""
    import json
    import sys

    from ..errors import UsageError
    from ..sandbox.server import RunningSandbox, Sandbox

    try:
        running = RunningSandbox(Sandbox(orders=orders), port=port)
    except OSError as exc:
        raise UsageError(f"cannot listen on 127.0.0.1:{port} ({exc.strerror})",
                         hint="choose another --port, or 0 for any free port") from None
    running.sandbox.latency = latency_ms / 1000.0
    credentials = running.sandbox.credentials()
    if json_out:
        sys.stdout.write(json.dumps(credentials, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(f"sandbox on {running.base_url} (Ctrl-C to stop)\n")
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
