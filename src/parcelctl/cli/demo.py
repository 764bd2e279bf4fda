"""parcelctl demo — an offline tour against the sandbox, in a throwaway home."""

from __future__ import annotations

import typer

DEMO_PARCELS = [
    ["add", "YT6247854916511", "773027491214552", "3950055201640", "JT0006968326954",
     "DPK364112047425", "--label", "demo"],
    ["add", "SF1321934960512", "--phone", "1234", "--label", "需要手机尾号的顺丰"],
    ["add", "RB123456785CN", "--provider", "17track", "--label", "跨境 17TRACK"],
    ["add", "LP00123456789012", "--provider", "cainiao", "--label", "AliExpress via Cainiao"],
]

#: Texts as a phone receives them (``parcelctl import``): a locker code for the Deppon parcel
#: tracked above (its number ends with 7425), a station SMS that matches no tracked parcel
#: (pppscn/SmsForwarder#469, masked by the reporter), and a shop's copied shipping details.
DEMO_TEXTS = """\
【德邦快递】您的快件已到枫林小区东门丰巢柜，取件码80475521，运单尾号7425，请于24小时内取件。

【菜鸟驿站】您的中通快递包裹已到武汉市尚璟瑞府11栋101门店，请20:30前凭10-2-7507取件，详询176****1639

【圆通速递】您的订单已发货，运单号：YT9693083639795，复制单号到圆通APP查询物流。
"""


def main(
    keep: bool = typer.Option(False, "--keep", help="Keep the throwaway home and print it."),
) -> None:
    """Start the sandbox, use a throwaway home, link a shop, add parcels, sync, list, show."""
    import os
    import shutil
    import tempfile

    from ..sandbox.server import RunningSandbox, Sandbox
    from .output import console, info

    home = tempfile.mkdtemp(prefix="parcelctl-demo-")
    saved = {k: os.environ.get(k) for k in ("PARCELCTL_HOME", "PARCELCTL_SECRETS")}
    os.environ["PARCELCTL_HOME"] = home
    os.environ["PARCELCTL_SECRETS"] = "file"
    try:
        with RunningSandbox(Sandbox()) as running:
            _configure(running.sandbox.credentials())
            out = console()
            out.rule("1. track parcels by number (carrier detected)")
            for args in DEMO_PARCELS:
                _step(args)
            out.rule("2. link a (sandbox) Kuaishou shop — orders import themselves")
            _link_demo_shop(running.base_url)
            out.rule("3. sync: import orders, refresh what is due")
            _step(["sync"], allow={3})
            out.rule("4. list: every parcel, newest change first")
            _step(["list", "--all"])
            out.rule("5. show: one timeline")
            _step(["show", "YT6247854916511"])
            out.rule("6. what needs attention")
            _step(["list", "--attention"])
            out.rule("7. import the texts you already get (SMS, app notifications, order pages)")
            texts = os.path.join(home, "sms.txt")
            with open(texts, "w", encoding="utf-8") as handle:
                handle.write(DEMO_TEXTS)
            _step(["import", texts])
            _step(["list"])
            _step(["list", "--attention"])
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if keep:
            info(f"demo home kept at {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)
    info("")
    info("That was the sandbox. To use the real services:", style="bold")
    for line in (
        "parcelctl config set providers.kuaidi100.customer YOUR_CUSTOMER_ID",
        "parcelctl config set providers.kuaidi100.key YOUR_KEY        # stored in the keyring",
        "parcelctl config set providers.tracking.default kuaidi100",
        "parcelctl config set providers.kuaishou.app_key ks...; "
        "…app_secret …; …sign_secret …",
        "parcelctl link kuaishou",
        "parcelctl add SF1234567890123 --phone 1234",
        "parcelctl import sms.jsonl --field content   # texts forwarded from your phone",
        "parcelctl cron install --every 30m",
    ):
        info(f"  {line}")


def _configure(credentials: dict[str, dict[str, str]]) -> None:
    from ..config import Config

    config = Config()
    for provider, table in credentials.items():
        for key, value in table.items():
            config.set(f"providers.{provider}.{key}", value)
    config.set("providers.tracking.default", "kuaidi100")


def _step(args: list[str], allow: set[int] | None = None) -> None:
    from .app import app
    from .output import console, error

    console().print(f"$ parcelctl {' '.join(args)}", style="bold cyan", markup=False)
    try:
        code = app(args=args, prog_name="parcelctl", standalone_mode=False)
    except typer.Exit as exc:
        code = exc.exit_code
    if isinstance(code, int) and code and code not in (allow or set()):
        error(f"demo step failed with exit code {code}")


def _link_demo_shop(base_url: str) -> None:
    """The sandbox's authorize page approves at once; follow it like a browser would."""
    from ..link import link_account
    from .output import console

    console().print("$ parcelctl link kuaishou --yes --paste   # (the demo plays the browser)",
                    style="bold cyan", markup=False)

    def browser(url: str) -> str:
        import httpx

        response = httpx.get(url, follow_redirects=False, timeout=10)
        return str(response.headers.get("location", ""))

    link_account("kuaishou", account="demo-shop", open_browser=False, visit=browser)
