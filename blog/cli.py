"""Commands for the operator's shell: flask --app wsgi COMMAND."""

from __future__ import annotations

import click
from flask import Flask

from blog.demo import load_demo


@click.command("demo")
def demo_command() -> None:
    """Load the demo blog (only into a blog that has no posts yet)."""
    added = load_demo()
    if added:
        click.echo(f"Loaded the demo blog: {added} published posts and a draft.")
    else:
        click.echo("The blog already has posts; the demo was not loaded.")


def init_app(app: Flask) -> None:
    app.cli.add_command(demo_command)
