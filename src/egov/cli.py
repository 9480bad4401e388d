"""The `egov` command: serve, worker, db, demo, registry, audit, accounts, oidc, keys, backup and restore."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console

from egov import backup, bootstrap, contexts, demo
from egov.contexts import load_settings
from egov.platform import cli as platform_cli
from egov.platform.cli import console, container_or_exit, settings_or_exit
from egov.settings import SettingsError

# Context commands ask the kernel for settings and the container; the root says how both are made.
platform_cli.install(load_settings=load_settings, build_container=bootstrap.build_container)
app = typer.Typer(
    help="egov — nền tảng chính phủ điện tử / e-government platform.\n\n"
    "Settings come from EGOV_* environment variables (see README). Quick start: "
    "`egov db upgrade && egov demo load && egov serve`.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)
db_app = typer.Typer(help="Database schema: upgrade to the code's version, show it, check for drift.",
                     no_args_is_help=True)
keys_app = typer.Typer(help="Key store: list, create, rotate and verify keys (private keys never leave it).",
                       no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Host name or address to listen on (each of its addresses).")] = "localhost",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes (PostgreSQL profile only).")] = 1,
) -> None:
    """Serve the web site and the API (uvicorn). Stops gracefully on SIGTERM/Ctrl-C."""
    from egov.migrations.runner import current_revision, head_revision
    from egov.platform import serve as serving
    from egov.platform.logging import configure_logging

    settings = settings_or_exit()
    if workers > 1 and settings.is_sqlite:
        console.print("[red]error:[/red] several workers need PostgreSQL (EGOV_DATABASE_URL); SQLite has one writer")
        raise typer.Exit(2)
    try:
        sockets = serving.bind(host, port)  # first: a taken port is one line, before any other work
    except serving.PortUnavailable as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    serving.prepare_metrics(settings.data_dir, workers)
    container = container_or_exit()
    if current_revision(container.db.engine) != head_revision():
        console.print("[red]error:[/red] the database schema is not current; run `egov db upgrade` first")
        raise typer.Exit(2)
    configure_logging(settings.log_level, settings.log_json)
    container.db.dispose()
    serving.run(sockets, workers=workers)


@app.command()
def worker(
    once: Annotated[bool, typer.Option(help="Run one round of background work and exit.")] = False,
) -> None:
    """Run background work (audit sequencer, checkpoints, queued jobs such as back-channel logout)
    until stopped; safe to run several."""
    from egov.platform.logging import configure_logging
    from egov.platform.worker import run_worker

    container = container_or_exit()
    configure_logging(container.settings.log_level, container.settings.log_json)
    run_worker(contexts.background_rounds(container), once=once)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database to the latest schema (as the owner) and refresh the application role's grants."""
    from egov.migrations.runner import current_revision, upgrade
    from egov.platform.db import Database
    from egov.platform.db.engine import DatabaseUnavailable
    from egov.platform.db.roles import ensure_app_role

    settings = settings_or_exit()
    owner = Database(settings.database_owner_url)
    try:
        owner.check()
    except DatabaseUnavailable as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(3) from None
    upgrade(owner.engine)
    role = ensure_app_role(owner.engine, settings.database_url)
    console.print(f"database at revision [bold]{current_revision(owner.engine)}[/bold]"
                  + (f"; application role [bold]{role}[/bold] refreshed" if role else ""))


@db_app.command("current")
def db_current() -> None:
    """Show the database's revision and the code's head."""
    from egov.migrations.runner import current_revision, head_revision

    container = container_or_exit()
    typer.echo(f"current: {current_revision(container.db.engine)}  head: {head_revision()}")


@db_app.command("check")
def db_check() -> None:
    """Fail if the models and the migrations disagree (alembic check)."""
    from egov.migrations.runner import check
    from egov.platform.db import Database

    settings = settings_or_exit()
    check(Database(settings.database_owner_url).engine)
    typer.echo("models and migrations agree")


@keys_app.command("list")
def keys_list() -> None:
    """List keys with their active version and algorithm."""
    from rich.table import Table

    container = container_or_exit(check_db=False)
    table = Table("name", "version", "algorithm", "created (UTC)")
    for info in container.keys.list():
        table.add_row(info.name, str(info.version), str(info.algorithm), info.created_at.isoformat())
    Console().print(table)


@keys_app.command("create")
def keys_create(
    name: str,
    algorithm: Annotated[str, typer.Option(help="Ed25519, ECDSA-P256, RSA-2048 or RSA-3072.")] = "Ed25519",
) -> None:
    """Create a key inside the store."""
    from egov.platform.keys import KeyAlgorithm, KeyStoreError

    container = container_or_exit(check_db=False)
    try:
        info = container.keys.create(name, KeyAlgorithm(algorithm))
    except (KeyStoreError, ValueError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    typer.echo(f"created {info.key_id} ({info.algorithm})")


@keys_app.command("rotate")
def keys_rotate(name: str) -> None:
    """Make a new version of a key active; old versions stay for verifying what they signed."""
    from egov.platform.keys import KeyStoreError

    container = container_or_exit(check_db=False)
    try:
        info = container.keys.rotate(name)
    except KeyStoreError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    typer.echo(f"rotated: {info.key_id} is now active")


@keys_app.command("verify")
def keys_verify() -> None:
    """Check that every key unlocks with the configured passphrase and matches its public half."""
    from egov.platform.keys import KeyStoreVerificationError

    container = container_or_exit(check_db=False)
    try:
        checked = container.keys.verify()
    except KeyStoreVerificationError as exc:
        for problem in exc.problems:
            console.print(f"[red]problem:[/red] {problem}")
        raise typer.Exit(1) from None
    typer.echo(f"key store OK ({len(checked)} key versions)")


# Every context's command groups, from the one list (a module that fails to import fails here, loudly).
for _module in contexts.CONTEXTS:
    for _group in _module.commands:
        app.add_typer(_group.app, name=_group.name, help=_group.help)
app.add_typer(demo.app, name="demo", help="Demo data: a believable Hồ Chí Minh City (synthetic people).")
app.command("backup")(backup.backup)
app.command("restore")(backup.restore)


def main() -> None:
    try:
        app()
    except SettingsError as exc:
        console.print(f"[red]error:[/red] {exc}")
        sys.exit(2)


