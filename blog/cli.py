"""Commands for the operator's shell: flask --app wsgi COMMAND."""

from __future__ import annotations

import sys

import click
from flask import Flask

from blog.demo import load_demo
from blog.porting.entries import FormatError


@click.command("demo")
def demo_command() -> None:
    """Load the demo blog (only into a blog that has no posts yet)."""
    added = load_demo()
    if added:
        click.echo(f"Loaded the demo blog: {added} published posts and a draft.")
    else:
        click.echo("The blog already has posts; the demo was not loaded.")


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--timezone", default="UTC", show_default=True, help="Zone of the export's dates.")
@click.option("--author", metavar="USERNAME", help="Account to own the posts (default: the first).")
@click.option(
    "--old-host", multiple=True, help="Host of the old blog, for the list of files to save."
)
@click.option("--dry-run", is_flag=True, help="Read and report; change nothing.")
def import_command(
    file: str, timezone: str, author: str | None, old_host: tuple[str, ...], dry_run: bool
) -> None:
    """Import a Movable Type / TypePad export or a WordPress WXR file, in one transaction."""
    import os

    from blog.porting.importer import run_import

    with click.progressbar(length=os.path.getsize(file), label="Importing") as bar:
        try:
            report = run_import(
                file,
                timezone=timezone,
                author=author,
                dry_run=dry_run,
                old_hosts=old_host,
                progress=bar.update,
            )
        except FormatError as error:
            raise click.ClickException(f"{file}: {error}. Nothing was imported.") from None
        except ValueError as error:
            raise click.ClickException(str(error)) from None
    for line in report.lines():
        click.echo(line)


@click.command("export")
@click.argument("file", type=click.File("w", encoding="utf-8", lazy=True))
@click.option("--timezone", default="UTC", show_default=True, help="Zone to write dates in.")
@click.option("--html", is_flag=True, help="Write rendered HTML instead of the Markdown source.")
def export_command(file, timezone: str, html: bool) -> None:
    """Write the whole blog to FILE in Movable Type format (- for standard output)."""
    import sqlalchemy as sa

    from blog.extensions import db
    from blog.models import Post
    from blog.porting.exporter import export_blog
    from blog.porting.importer import zone_named

    try:
        zone = zone_named(timezone)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--timezone") from None
    total = db.session.scalar(sa.select(sa.func.count(Post.id)))
    with click.progressbar(length=total, label="Exporting", file=sys.stderr) as bar:
        report = export_blog(file, zone, html=html, progress=bar.update)
    click.echo(f"Exported {report.posts} posts and {report.comments} comments.", err=True)
    if report.left_out:
        click.echo(
            f"{report.left_out} held or spam comments were left out: the format cannot mark them.",
            err=True,
        )


def init_app(app: Flask) -> None:
    app.cli.add_command(demo_command)
    app.cli.add_command(import_command)
    app.cli.add_command(export_command)
