"""Commands for the operator's shell: flask --app wsgi COMMAND."""

from __future__ import annotations

import sys

import click
from flask import Flask

from blog.demo import load_demo
from blog.extensions import db


@click.command("demo")
def demo_command() -> None:
    """Load the demo blog (only into a blog that has no posts yet)."""
    added = load_demo()
    if added:
        click.echo(f"Loaded the demo blog: {added} published posts and a draft.")
    else:
        click.echo("The blog already has posts; the demo was not loaded.")


def _stdin_is_tty() -> bool:
    return sys.stdin.isatty()


def _read_password() -> str:
    """Ask twice on a terminal without echoing; read one line from a pipe."""
    if _stdin_is_tty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return sys.stdin.readline().rstrip("\r\n")


@click.command("create-admin")
@click.argument("username")
@click.option("--display-name", default="", help="The name shown on posts (default: unchanged).")
def create_admin_command(username: str, display_name: str) -> None:
    """Create the account USERNAME, or set a new password for it.

    The password is asked twice without echo, or read from standard input when it is a pipe.
    """
    from blog.admin.auth import password_problem, save_account

    username = username.strip()
    if not username or len(username) > 64 or any(c.isspace() for c in username):
        raise click.UsageError("USERNAME must be 1 to 64 characters without spaces.")
    password = _read_password()
    problem = password_problem(password, username)
    if problem:
        raise click.ClickException(f"Password refused: {problem}")
    user, done = save_account(username, display_name.strip(), password)
    db.session.commit()
    click.echo(f"Account {done} {user.username!r} ({user.display_name}). Log in at /login.")


@click.command("setup-link")
@click.option(
    "--base-url", default="http://127.0.0.1:5000", show_default=True, help="Where the blog runs."
)
def setup_link_command(base_url: str) -> None:
    """Print a one-time link that creates the first account (while there is none)."""
    from blog.admin.auth import has_account, new_setup_token

    if has_account():
        click.echo(f"The blog has an account: log in at {base_url.rstrip('/')}/login")
        return
    token = new_setup_token()
    click.echo("No account yet. Create yours, once, at:")
    click.secho(f"  {base_url.rstrip('/')}/setup?token={token}", bold=True)


def init_app(app: Flask) -> None:
    app.cli.add_command(demo_command)
    app.cli.add_command(create_admin_command)
    app.cli.add_command(setup_link_command)
