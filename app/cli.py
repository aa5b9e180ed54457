"""Command line: `flask seed`, `flask demo`, `flask users create` (see PRODUCT.md for the contract)."""

from __future__ import annotations

import json
import sys

import click
from flask import Flask
from flask.cli import AppGroup

import sqlalchemy as sa

from . import backup as backup_module
from . import demo as demo_module
from . import gdpr, seeding
from .auth import services as accounts
from .auth import tokens
from .extensions import db
from .models import Role, User
from .webhooks import services as webhook_services

users_cli = AppGroup("users", help="Manage user accounts.")
tokens_cli = AppGroup("tokens", help="Manage API tokens.")
webhooks_cli = AppGroup("webhooks", help="Webhook deliveries.")
gdpr_cli = AppGroup("gdpr", help="Personal data: export, erase, retention.")


@click.command("seed")
def seed_command() -> None:
    """Load the current campaign (Write for Rights 2025) and its cases; running it again changes nothing."""
    result = seeding.seed()
    if result.changed:
        click.echo(
            f"Seeded {result.campaigns} campaigns, {result.cases} cases, "
            f"{result.outcomes} outcome updates, {result.pack_sizes} pack sizes, "
            f"{result.translations} case translations."
        )
    else:
        click.echo("Already seeded: nothing to change.")


@click.command("demo")
@click.option("--scale", type=click.Choice(list(demo_module.SCALES)), default="small", show_default=True)
@click.option("--seed", "seed_value", type=int, default=1, show_default=True, help="Random seed (same seed, same data).")
def demo_command(scale: str, seed_value: int) -> None:
    """Add synthetic groups, orders, packs, reports and mailings on top of `seed`."""
    seeding.seed()
    bar = click.progressbar(length=demo_module.progress_length(scale), label=f"Demo data ({scale})", file=sys.stderr)
    try:
        with bar:
            result = demo_module.generate(scale, seed_value, progress=lambda _stage, steps: bar.update(steps))
    except demo_module.DemoAlreadyLoaded as error:
        click.echo(str(error))
    except demo_module.DemoError as error:
        raise click.ClickException(str(error)) from error
    else:
        click.echo(
            f"Demo data: {result.groups:,} groups, {result.orders:,} orders, {result.packs:,} packs, "
            f"{result.reports:,} reports, {result.mailings:,} mailings."
        )
    click.echo("Demo logins:")
    for role, email, password in demo_module.demo_logins():
        click.echo(f"  {role:<12} {email}  password: {password}")


@users_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--group", "group_name", help="The coordinator's group (exact name).")
@click.option("--name", default="", help="The person's name.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_user_command(email: str, role: str, group_name: str | None, name: str, password_stdin: bool) -> None:
    """Create a user (staff, or coordinator of one group)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = accounts.create_user(email, password, Role(role), group_name=group_name, name=name)
    except accounts.AccountError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Created {user.role.value} {user.email}.")


@tokens_cli.command("create")
@click.argument("email")
@click.option("--name", default="", help="What the token is for.")
def create_token_command(email: str, name: str) -> None:
    """Print a new API token for the user with EMAIL (shown once)."""
    user = db.session.scalar(sa.select(User).where(User.email == accounts.normalise_email(email)))
    if user is None:
        raise click.ClickException(f"No user with the email {email}.")
    try:
        _token, raw = tokens.create_token(user, name)
    except tokens.TokenError as error:
        raise click.ClickException(str(error)) from error
    click.echo(raw)


@webhooks_cli.command("deliver")
@click.option("--loop", is_flag=True, help="Keep delivering every few seconds (for a worker process).")
def deliver_webhooks_command(loop: bool) -> None:
    """Send due webhook deliveries (with retries)."""
    import time

    while True:
        sent = webhook_services.deliver_due()
        if not loop:
            click.echo(f"Delivered {sent}.")
            return
        time.sleep(5)


@click.command("backup")
@click.argument("path")
def backup_command(path: str) -> None:
    """Write a consistent copy of the database to PATH while the app keeps serving."""
    try:
        target = backup_module.backup(path)
    except backup_module.BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Backup written to {target} ({target.stat().st_size:,} bytes).")


@gdpr_cli.command("export")
@click.argument("group_id", type=int)
def gdpr_export_command(group_id: int) -> None:
    """Print everything held about a group (JSON)."""
    try:
        click.echo(json.dumps(gdpr.export_group(group_id), indent=2, ensure_ascii=False))
    except gdpr.GdprError as error:
        raise click.ClickException(str(error)) from error


@gdpr_cli.command("erase")
@click.argument("group_id", type=int)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def gdpr_erase_command(group_id: int, yes: bool) -> None:
    """Erase a group's personal data (contact, addresses, coordinators' accounts); totals stay."""
    if not yes:
        click.confirm(f"Erase the personal data of group {group_id}? This cannot be undone.", abort=True)
    try:
        group = gdpr.erase_group(group_id)
    except gdpr.GdprError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Erased: {group.name}.")


@gdpr_cli.command("retention")
@click.option("--months", type=int, default=24, show_default=True, help="Erase groups inactive this long.")
@click.option("--outbox-days", type=int, default=90, show_default=True, help="Delete outbox mail older than this.")
@click.option("--dry-run", is_flag=True)
def gdpr_retention_command(months: int, outbox_days: int, dry_run: bool) -> None:
    """Apply the retention policy."""
    try:
        result = gdpr.retention(months, outbox_days, dry_run=dry_run)
    except gdpr.GdprError as error:
        raise click.ClickException(str(error)) from error
    verb = "Would erase" if dry_run else "Erased"
    click.echo(f"{verb} {result['groups']} groups; {'would delete' if dry_run else 'deleted'} {result['emails']} old emails.")


def init_app(app: Flask) -> None:
    """Register the commands."""
    app.cli.add_command(seed_command)
    app.cli.add_command(demo_command)
    app.cli.add_command(users_cli)
    app.cli.add_command(tokens_cli)
    app.cli.add_command(webhooks_cli)
    app.cli.add_command(backup_command)
    app.cli.add_command(gdpr_cli)
