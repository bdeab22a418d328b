"""Command-line tools: demo data and server, coordinator accounts, data checks, backups."""

from __future__ import annotations

import sys
import threading
import time
import urllib.request
from datetime import date
from pathlib import Path

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
            click.echo("Demo data is ready. Start the app with: flask --app tracker demo")
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

    @app.cli.command("send-reminders")
    @click.option("--loop", "forever", is_flag=True, help="Keep running, once a minute.")
    @click.option("--interval", default=60.0, show_default=True, help="Seconds between rounds.")
    @click.option(
        "--processes",
        default=1,
        show_default=True,
        type=click.IntRange(1, 64),
        help="Sender processes, each taking a share of the accounts (one per core).",
    )
    def send_reminders(forever: bool, interval: float, processes: int) -> None:
        """Send every reminder that is due (run it each minute from cron or a systemd timer)."""
        from . import push, reminders

        if forever and processes > 1:
            raise click.UsageError("--loop runs in one process; leave out --processes.")
        try:
            sender = reminders.make_sender()
        except push.PushConfigError as error:
            raise click.ClickException(str(error)) from None
        try:
            if forever:
                reminders.loop(sender, interval)
            else:
                if processes > 1:
                    stats = reminders.run_in_processes(processes)
                else:
                    stats = reminders.run_once(sender)
                click.echo(
                    f"sent {stats.sent} (late {stats.late}), dropped {stats.dropped}, "
                    f"delivered to {stats.delivered} device(s), {stats.retries} to retry"
                )
        finally:
            sender.close()

    @app.cli.command("push-key")
    @click.argument("action", type=click.Choice(["show", "rotate"]), default="show")
    def push_key(action: str) -> None:
        """Show the VAPID public key, or rotate the key pair (devices must subscribe again)."""
        from . import notifications, push
        from .accounts import all_accounts

        data_dir = current_app.config["TRACKER_DATA_DIR"]
        if action == "rotate":
            vapid = push.rotate_key(data_dir)
            for account in all_accounts():
                notifications.remove_all(account.id)  # old subscriptions used the old key
            click.echo("New key pair made. Every device must turn notifications on again.")
        else:
            vapid = push.load_or_create_key(data_dir)
        click.echo(push.public_key(vapid))

    @app.cli.command("backup")
    @click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
    def backup(dest: Path) -> None:
        """Copy the whole data folder into DEST (new or empty) while the app runs."""
        from .backups import BackupError, take_backup
        from .store import get_store

        try:
            summary = take_backup(get_store(), dest)
        except BackupError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"Backed up {summary.files} file(s), {summary.size} bytes, to {dest}.")

    @app.cli.command("restore")
    @click.argument("snapshot", type=click.Path(exists=True, file_okay=False, path_type=Path))
    @click.argument("data_dir", type=click.Path(file_okay=False, path_type=Path))
    def restore(snapshot: Path, data_dir: Path) -> None:
        """Restore the backup SNAPSHOT into DATA_DIR, which must be new or empty."""
        from .backups import BackupError, restore_backup

        try:
            summary = restore_backup(snapshot, data_dir)
        except BackupError as exc:
            for problem in exc.problems:
                click.echo(problem, err=True)
            raise click.ClickException("Nothing was restored.") from None
        click.echo(f"Restored {summary.files} file(s) into {data_dir}. Every data file reads.")

    @app.cli.command("import-record")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option(
        "--owner-email",
        default=None,
        help="The account here that will own the record (default: the email in the file).",
    )
    @click.option(
        "--max-mb",
        type=click.IntRange(1, 4096),
        default=64,
        show_default=True,
        help="Refuse a larger file (raise it for a record with many receipt photos).",
    )
    def import_record(file: Path, owner_email: str | None, max_mb: int) -> None:
        """Recreate a person's record from their "Download all your data" file."""
        from . import exports

        try:
            limit = max_mb * 2**20
            exports.check_size(file.stat().st_size, limit)  # before reading it into memory
            result = exports.import_bytes(file.read_bytes(), owner_email=owner_email, limit=limit)
        except exports.ImportRefused as refused:
            for problem in refused.problems:
                click.echo(f"- {problem}", err=True)
            raise click.ClickException("Nothing was imported.") from None
        click.echo(f"Imported record {result.record_id}, owned by {result.owner_email}.")
        for who in result.linked:
            click.echo(f"Linked again: {who}")
        for who in result.not_linked:
            click.echo(f"Not linked (no matching account here; invite them again): {who}")
        if result.preferences_kept:
            click.echo("The owner's reminder settings were applied to their account here.")

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

    def send_reminders() -> None:
        from . import reminders

        with app.app_context():
            sender = reminders.make_sender()
            reminders.loop(sender, 60)

    threading.Thread(target=announce, daemon=True).start()
    # The demo also sends reminders each minute, as cron would in production.
    threading.Thread(target=send_reminders, daemon=True).start()
    run_simple(host, port, app, use_reloader=False, threaded=True)
