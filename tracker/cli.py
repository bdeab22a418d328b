"""Command-line tools: demo data and server, coordinator accounts, data checks."""

from __future__ import annotations

import sys
import threading
import time
import urllib.request
from datetime import date

import click
from flask import Flask, current_app


def register(app: Flask) -> None:
    @app.cli.command("demo")
    @click.option(
        "--today",
        type=click.DateTime(formats=["%Y-%m-%d"]),
        default=None,
        help="Pretend today is this date (the data is generated relative to it).",
    )
    @click.option("--serve/--no-serve", default=True, help="Start the web server afterwards.")
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", default=5000, show_default=True)
    def demo_command(today, serve: bool, host: str, port: int) -> None:
        """Load the demo data (once) and run the app on it."""
        from . import demo

        anchor: date | None = today.date() if today else None
        if demo.already_loaded():
            click.echo("Demo data is already loaded.")
        else:
            click.echo("Loading demo data (a few seconds)…")
            demo.load(anchor)
        if not serve:
            _print_banner(f"http://{host}:{port}")
            return
        _serve(current_app._get_current_object(), host, port)

    @app.cli.command("create-coordinator")
    @click.argument("email")
    @click.argument("name")
    @click.password_option(help="The account's password (asked for if not given).")
    def create_coordinator(email: str, name: str, password: str) -> None:
        """Create a care coordinator account (coordinators cannot sign themselves up)."""
        from . import accounts

        try:
            accounts.create_account(email, name, password, is_coordinator=True)
        except accounts.EmailTaken:
            raise click.ClickException(
                "An account with that email address already exists."
            ) from None
        click.echo(f"Created coordinator account for {accounts.normalise_email(email)}.")

    @app.cli.command("check-data")
    def check_data() -> None:
        """Parse every data file and report any that cannot be read."""
        from .store import get_store

        problems = get_store().check_all()
        for problem in problems:
            click.echo(problem, err=True)
        click.echo(f"{len(problems)} unreadable file(s).")
        sys.exit(1 if problems else 0)


def _print_banner(url: str) -> None:
    from .demo import DEMO_PASSWORD, DEMO_USERS

    click.echo("")
    click.echo(f"The care plan tracker is running at {url}")
    click.echo("Demo sign-ins (password for all: " + DEMO_PASSWORD + "):")
    for role, email in DEMO_USERS.items():
        click.echo(f"  {role:<12} {email}")
    click.echo("Press Ctrl+C to stop.")


def _serve(app: Flask, host: str, port: int) -> None:
    """Run the development server and print the banner once /healthz answers."""
    from werkzeug.serving import run_simple

    url = f"http://{host}:{port}"

    def announce() -> None:
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=1) as response:  # noqa: S310
                    if response.status == 200:
                        _print_banner(url)
                        return
            except OSError:
                time.sleep(0.2)

    threading.Thread(target=announce, daemon=True).start()
    run_simple(host, port, app, use_reloader=False, threaded=True)
