"""Commands for the operator's shell: flask --app wsgi COMMAND."""

from __future__ import annotations

import os
import sqlite3
import sys
import time
from pathlib import Path

import click
import sqlalchemy as sa
from flask import Flask, current_app

from blog.demo import load_demo
from blog.extensions import db
from blog.porting.entries import FormatError


@click.command("demo")
def demo_command() -> None:
    """Load the demo blog (only into a blog that has no posts yet)."""
    added = load_demo()
    if added:
        click.echo(f"Loaded the demo blog: {added} published posts, an About page and a draft.")
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


@click.command("rerender")
@click.option(
    "--batch-size",
    default=500,
    show_default=True,
    type=click.IntRange(1, 10_000),
    help="Rows read and written per transaction.",
)
def rerender_command(batch_size: int) -> None:
    """Re-render stored HTML after a sanitizing or Markdown change."""
    from blog.rerender import rerender

    posts, comments = rerender(batch_size)
    click.echo(
        f"Re-rendered {posts.changed} of {posts.total} posts and "
        f"{comments.changed} of {comments.total} comments; the rest were already up to date."
    )


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


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def backup_command(path: Path) -> None:
    """Copy the SQLite database to PATH, consistently, while the blog keeps serving and writing."""
    url = db.engine.url
    if url.get_backend_name() != "sqlite":
        raise click.ClickException(
            f"backup copies SQLite databases; this blog runs on {url.get_backend_name()}. "
            "Use the database's own tools, e.g. pg_dump --format=custom --file=blog.dump "
            "DBNAME (restore with pg_restore --clean --dbname=DBNAME blog.dump)."
        )
    source = url.database
    if not source or source == ":memory:":
        raise click.ClickException("the database is in memory: there is no file to back up.")
    if path.exists():
        raise click.ClickException(f"{path} exists: give a new file name (nothing was written).")
    partial = path.with_name(path.name + ".partial")
    started = time.monotonic()
    try:
        src = sqlite3.connect(source, timeout=current_app.config["SQLITE_BUSY_TIMEOUT"] / 1000)
        dst = sqlite3.connect(partial)
        with src, dst:
            # One step: the whole copy is read in a single read transaction, a consistent
            # snapshot; in WAL mode writers go on meanwhile. Copying in several steps would
            # restart after every write from another connection and might never finish.
            src.backup(dst)
            check = dst.execute("PRAGMA integrity_check").fetchone()[0]
            if check != "ok":
                raise click.ClickException(f"the copy failed its integrity check: {check}")
        src.close()
        dst.close()
        os.replace(partial, path)
    except sqlite3.Error as error:
        raise click.ClickException(f"backup failed: {error} (nothing was written)") from error
    finally:
        partial.unlink(missing_ok=True)
    size = path.stat().st_size / 1e6
    click.echo(
        f"Backed up {source} to {path}: {size:.1f} MB in {time.monotonic() - started:.1f} s."
    )


@click.command("bench-data")
@click.option("--posts", type=click.IntRange(min=1), default=1000, show_default=True)
@click.option("--comments", type=click.IntRange(min=0), default=10000, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True, help="Random seed.")
def bench_data_command(posts: int, comments: int, seed: int) -> None:
    """Fill an empty blog with benchmark posts and comments (bulk inserts)."""
    from blog.benchdata import SPECIAL_COMMENTS, generate

    started = time.monotonic()
    with click.progressbar(length=posts + comments, label="Writing posts and comments") as bar:
        try:
            done = generate(posts, comments, seed=seed, progress=bar.update)
        except ValueError as error:
            raise click.ClickException(str(error)) from error
    click.echo(
        f"Wrote {done['posts']:,} posts and {done['comments']:,} comments "
        f"in {time.monotonic() - started:.0f} s."
    )
    if done["special_posts"]:
        slugs = ", ".join(f"bench-{n}-comments" for n in SPECIAL_COMMENTS)
        click.echo(f"Posts with exactly {'/'.join(map(str, SPECIAL_COMMENTS))} comments: {slugs}.")


def init_app(app: Flask) -> None:
    app.cli.add_command(demo_command)
    app.cli.add_command(create_admin_command)
    app.cli.add_command(setup_link_command)
    app.cli.add_command(rerender_command)
    app.cli.add_command(import_command)
    app.cli.add_command(export_command)
    app.cli.add_command(backup_command)
    app.cli.add_command(bench_data_command)
