"""`egov backup` / `egov restore`: the database and the key store in one verified archive."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy.engine import make_url

from egov.platform.cli import settings_or_exit
from egov.settings import Settings
from egov.soc.settings import SocSettings

console = Console(stderr=True, soft_wrap=True)

FORMAT = "egov-backup/1"


class BackupError(Exception):
    """The archive is missing, damaged or does not fit this installation."""


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _pg_env_args(url: str) -> tuple[list[str], dict[str, str]]:
    u = make_url(url)
    env = dict(os.environ)
    if u.password:
        env["PGPASSWORD"] = str(u.password)
    args = ["-h", u.host or "127.0.0.1", "-p", str(u.port or 5432), "-U", u.username or "postgres"]
    return [*args, "-d", u.database or ""], env


def create_backup(settings: Settings, out: Path) -> dict[str, object]:
    """Write `out` (tar.gz): database dump, key store files (still encrypted), checkpoints, manifest.

    The key store passphrase is NOT in the archive: whoever restores must hold it separately.
    """
    with tempfile.TemporaryDirectory() as tmp:
        stage = Path(tmp)
        if settings.is_sqlite:
            src_path = make_url(settings.database_url).database or ""
            dump = stage / "database.sqlite3"
            # The online backup API copies a consistent snapshot even while the app is writing.
            with sqlite3.connect(src_path) as src, sqlite3.connect(dump) as dst:
                src.backup(dst)
            kind = "sqlite"
        else:
            dump = stage / "database.pgdump"
            args, env = _pg_env_args(settings.database_owner_url)
            subprocess.run(["pg_dump", "-Fc", "--no-owner", "--no-privileges", "-f", str(dump), *args],
                           check=True, env=env, capture_output=True)
            kind = "postgresql"
        files: dict[str, str] = {dump.name: _sha256(dump)}
        members: list[tuple[Path, str]] = [(dump, dump.name)]
        for label, directory in (("keys", settings.keystore_dir),
                                 ("checkpoints", settings.section(SocSettings).checkpoint_dir)):
            if directory is None or not directory.exists():
                continue
            for path in sorted(p for p in directory.rglob("*") if p.is_file()):
                arc = f"{label}/{path.relative_to(directory)}"
                files[arc] = _sha256(path)
                members.append((path, arc))
        manifest: dict[str, object] = {
            "format": FORMAT,
            "created_at": datetime.now(UTC).isoformat(),
            "database": kind,
            "files": files,
        }
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp_out = out.with_suffix(out.suffix + ".part")
        with tarfile.open(tmp_out, "w:gz") as tar:
            data = json.dumps(manifest, indent=2).encode()
            info = tarfile.TarInfo("manifest.json")
            info.size = len(data)
            info.mode = 0o600
            tar.addfile(info, io.BytesIO(data))
            for path, arc in members:
                tar.add(path, arcname=arc, recursive=False)
        os.chmod(tmp_out, 0o600)
        os.replace(tmp_out, out)
        return manifest


def restore_backup(settings: Settings, archive: Path, force: bool = False) -> dict[str, object]:
    """Check every file against the manifest first; only then replace the database and key store."""
    if not archive.is_file():
        raise BackupError(f"no backup archive at {archive}")
    with tempfile.TemporaryDirectory() as tmp:
        stage = Path(tmp)
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(stage, filter="data")
        manifest_path = stage / "manifest.json"
        if not manifest_path.exists():
            raise BackupError("archive has no manifest.json: not an egov backup")
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("format") != FORMAT:
            raise BackupError(f"unsupported backup format {manifest.get('format')!r}")
        for name, digest in manifest["files"].items():
            path = stage / name
            if not path.is_file() or _sha256(path) != digest:
                raise BackupError(f"archive member {name} is missing or damaged (hash mismatch); nothing restored")
        expected = "sqlite" if settings.is_sqlite else "postgresql"
        if manifest["database"] != expected:
            raise BackupError(f"backup is of a {manifest['database']} database but EGOV_DATABASE_URL is {expected}")
        checkpoints = settings.section(SocSettings).checkpoint_dir
        assert settings.keystore_dir is not None and checkpoints is not None
        if settings.keystore_dir.exists() and any(settings.keystore_dir.iterdir()) and not force:
            raise BackupError(f"key store {settings.keystore_dir} is not empty; pass --force to replace it")
        if settings.is_sqlite:
            target = Path(make_url(settings.database_url).database or "")
            if target.exists() and not force:
                raise BackupError(f"database {target} exists; pass --force to replace it")
            target.parent.mkdir(parents=True, exist_ok=True)
            # Copy page by page into the live file through SQLite itself: connections other
            # processes hold stay valid, where replacing the file under them would corrupt it.
            with sqlite3.connect(stage / "database.sqlite3") as snapshot, sqlite3.connect(target) as live:
                snapshot.backup(live)
        else:
            args, env = _pg_env_args(settings.database_owner_url)
            flags = ["--clean", "--if-exists"] if force else []
            subprocess.run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", *flags, *args,
                            str(stage / "database.pgdump")], check=True, env=env, capture_output=True)
            from sqlalchemy import create_engine

            from egov.platform.db.roles import ensure_app_role

            # The dump carries no grants; give the application role its (append-only) rights back.
            owner = create_engine(settings.database_owner_url)
            try:
                ensure_app_role(owner, settings.database_url)
            finally:
                owner.dispose()
        for label, directory in (("keys", settings.keystore_dir), ("checkpoints", checkpoints)):
            extracted = stage / label
            if not extracted.exists():
                continue
            if directory.exists():
                shutil.rmtree(directory)
            shutil.copytree(extracted, directory)
            for path in [directory, *directory.rglob("*")]:
                os.chmod(path, 0o700 if path.is_dir() else 0o600)
        return manifest


def backup(
    out: Annotated[Path, typer.Argument(help="Archive to write, e.g. backups/egov-2026-11-25.tar.gz")],
) -> None:
    """Back up the database and the key store (keys stay encrypted; keep the passphrase elsewhere)."""
    settings = settings_or_exit()
    try:
        manifest = create_backup(settings, out)
    except (subprocess.CalledProcessError, sqlite3.Error, OSError) as exc:
        detail = exc.stderr.decode(errors="replace").strip() if isinstance(exc, subprocess.CalledProcessError) else exc
        console.print(f"[red]error:[/red] backup failed: {detail}")
        raise typer.Exit(1) from None
    typer.echo(f"backup written to {out} ({len(manifest['files'])} files, {manifest['database']})")  # type: ignore[arg-type]


def restore(
    archive: Annotated[Path, typer.Argument(help="Archive made by `egov backup`.")],
    force: Annotated[bool, typer.Option(help="Replace an existing database and key store.")] = False,
) -> None:
    """Restore a backup after checking every file's hash; refuses to overwrite unless --force."""
    settings = settings_or_exit()
    try:
        manifest = restore_backup(settings, archive, force=force)
    except BackupError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    except subprocess.CalledProcessError as exc:
        console.print(f"[red]error:[/red] restore failed: {exc.stderr.decode(errors='replace').strip()}")
        raise typer.Exit(1) from None
    typer.echo(f"restored backup of {manifest['created_at']} ({manifest['database']}); run `egov audit verify`")
