"""Commands for the operator's shell: flask --app wsgi COMMAND."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import click
from flask import Flask, current_app

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
    app.cli.add_command(backup_command)
    app.cli.add_command(bench_data_command)
