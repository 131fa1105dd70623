"""Commands for the operator's shell: flask --app wsgi COMMAND."""

from __future__ import annotations

import io
import os
import sqlite3
import sys
import time
from pathlib import Path

import click
import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import Flask, current_app, url_for

from blog.admin.auth import has_account, new_setup_token, password_problem, save_account
from blog.benchdata import SPECIAL_COMMENTS, generate
from blog.demo import load_demo
from blog.extensions import db
from blog.jobs.worker import worker_command
from blog.media import storage as media_storage
from blog.media.importing import open_source
from blog.models import Post
from blog.porting.entries import FormatError
from blog.porting.exporter import export_blog
from blog.porting.importer import run_import, zone_named
from blog.porting.oldurls import read_list
from blog.porting.rescue import rescue_report
from blog.rerender import rerender


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
@click.option(
    "--email",
    default="",
    metavar="ADDRESS",
    help="Where notifications about comments go (default: unchanged).",
)
def create_admin_command(username: str, display_name: str, email: str) -> None:
    """Create the account USERNAME, or set a new password for it.

    The password is asked twice without echo, or read from standard input when it is a pipe.
    """
    username = username.strip()
    if not username or len(username) > 64 or any(c.isspace() for c in username):
        raise click.UsageError("USERNAME must be 1 to 64 characters without spaces.")
    email = email.strip()
    if email:
        try:
            validate_email(email, check_deliverability=False)
        except EmailNotValidError as error:
            raise click.BadParameter(str(error), param_hint="--email") from None
    password = _read_password()
    problem = password_problem(password, username)
    if problem:
        raise click.ClickException(f"Password refused: {problem}")
    user, done = save_account(username, display_name.strip(), password, email)
    said = f"Account {done} {user.username!r} ({user.display_name})."
    db.session.commit()  # the new password also ended every login of the account
    click.echo(f"{said} Every login of the account has ended; log in at /login.")
    if user.email:
        click.echo(f"Notifications about comments go to {user.email}.")


@click.command("setup-link")
@click.option(
    "--base-url",
    default=None,
    help="Where the blog runs (default: SERVER_NAME and PREFERRED_URL_SCHEME when set, "
    "else http://127.0.0.1:5000).",
)
def setup_link_command(base_url: str | None) -> None:
    """Print a one-time link that creates the first account (while there is none)."""
    if base_url is None:
        base_url = _site_url()
    if has_account():
        click.echo(f"The blog has an account: log in at {base_url.rstrip('/')}/login")
        return
    token = new_setup_token()
    click.echo("No account yet. Create yours, once, at:")
    click.secho(f"  {base_url.rstrip('/')}/setup?token={token}", bold=True)


def _site_url() -> str:
    """Return the blog's address as configured (SERVER_NAME), for links made outside a request."""
    if current_app.config.get("SERVER_NAME"):
        # Outside a request, Flask builds URLs from SERVER_NAME and PREFERRED_URL_SCHEME.
        return url_for("posts.index", _external=True)
    return "http://127.0.0.1:5000"


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
@click.option(
    "--old-urls",
    type=click.Path(exists=True, dir_okay=False),
    help="A list of the old blog's URLs, one a line, to match to the imported posts.",
)
@click.option(
    "--basename-length",
    type=click.IntRange(15, 250),
    help="The old blog's basename length (Movable Type's 15, 30 and 100 are always tried).",
)
@click.option(
    "--media",
    type=click.Path(exists=True, path_type=Path),
    metavar="DIR",
    help="The pictures saved from the old site (a folder, or a .zip): attach them to the posts.",
)
def import_command(
    file: str,
    timezone: str,
    author: str | None,
    old_host: tuple[str, ...],
    dry_run: bool,
    old_urls: str | None,
    basename_length: int | None,
    media: Path | None,
) -> None:
    """Import a Movable Type / TypePad export or a WordPress WXR file, in one transaction."""
    try:
        pictures = open_source(media) if media is not None else None
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--media") from None
    with click.progressbar(length=os.path.getsize(file), label="Importing") as bar:
        try:
            report = run_import(
                file,
                timezone=timezone,
                author=author,
                dry_run=dry_run,
                old_hosts=old_host,
                progress=bar.update,
                old_urls=old_urls,
                basename_length=basename_length,
                media=pictures,
            )
        except FormatError as error:
            raise click.ClickException(f"{file}: {error}. Nothing was imported.") from None
        except (ValueError, OSError) as error:
            raise click.ClickException(str(error)) from None
        finally:
            if pictures is not None:
                pictures.close()
    for line in report.lines():
        click.echo(line)


@click.command("legacy-check")
@click.option(
    "--old-urls",
    type=click.Path(exists=True, dir_okay=False),
    help="Also check these old URLs (a list, one a line).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "csv"]),
    default="text",
    show_default=True,
    help="csv: one row per address, for a spreadsheet.",
)
def legacy_check_command(old_urls: str | None, fmt: str) -> None:
    """Show where every known old address of the moved blog leads now; changes nothing."""
    report = rescue_report(read_list(old_urls) if old_urls else [])
    if fmt == "csv":
        out = io.StringIO()
        report.write_csv(out)
        click.echo(out.getvalue(), nl=False)
        return
    for line in report.lines():
        click.echo(line)


@click.command("export")
@click.argument("file", type=click.File("w", encoding="utf-8", lazy=True))
@click.option("--timezone", default="UTC", show_default=True, help="Zone to write dates in.")
@click.option("--html", is_flag=True, help="Write rendered HTML instead of the Markdown source.")
def export_command(file, timezone: str, html: bool) -> None:
    """Write the whole blog to FILE in Movable Type format (- for standard output)."""
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
@click.option(
    "--media",
    "media_to",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Where the images go (default: PATH.media). Files already there are skipped: an "
    "image never changes, so one folder can serve every backup.",
)
def backup_command(path: Path, media_to: Path | None) -> None:
    """Copy the SQLite database to PATH, consistently, while the blog keeps serving and writing,
    then the uploaded images (instance/media) to PATH.media."""
    url = db.engine.url
    if url.get_backend_name() != "sqlite":
        raise click.ClickException(
            f"backup copies SQLite databases; this blog runs on {url.get_backend_name()}. "
            "Use the database's own tools, e.g. pg_dump --format=custom --file=blog.dump "
            "DBNAME (restore with pg_restore --clean --dbname=DBNAME blog.dump), and copy the "
            f"images in {current_app.config['MEDIA_FOLDER']} with them (rsync -a)."
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
    # After the database: every image its copy names was stored before that copy was taken
    # (files are written before their rows), so the pair is consistent.
    media_to = media_to or path.with_name(path.name + ".media")
    copied, kept = media_storage.copy_to(media_to)
    click.echo(f"Images: {copied} copied to {media_to}, {kept} already there.")


@click.command("bench-data")
@click.option("--posts", type=click.IntRange(min=1), default=1000, show_default=True)
@click.option("--comments", type=click.IntRange(min=0), default=10000, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True, help="Random seed.")
def bench_data_command(posts: int, comments: int, seed: int) -> None:
    """Fill an empty blog with benchmark posts and comments (bulk inserts)."""
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
    app.cli.add_command(legacy_check_command)
    app.cli.add_command(export_command)
    app.cli.add_command(backup_command)
    app.cli.add_command(bench_data_command)
    app.cli.add_command(worker_command)
