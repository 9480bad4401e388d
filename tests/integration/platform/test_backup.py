"""A backup restores the database and the key store exactly; a damaged archive restores nothing."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from egov.backup import BackupError, create_backup, restore_backup
from egov.bootstrap import Container
from egov.platform.db import Database
from egov.platform.keys import KeyAlgorithm, verify_signature
from egov.soc import record_event
from egov.soc.models import AuditEvent


def _wipe_everything(container: Container, owner_db: Database) -> None:
    with owner_db.engine.begin() as conn:
        if owner_db.is_postgres:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text("DELETE FROM audit_events"))
    if container.settings.is_sqlite:
        container.db.dispose()


def test_backup_then_restore_brings_back_rows_and_keys(
    container: Container, owner_db: Database, tmp_path: Path
) -> None:
    with container.db.session() as s:
        for i in range(5):
            record_event(s, "test:backup:row", object_id=str(i))
    info = container.keys.create("backup-test", KeyAlgorithm.ED25519)
    archive = tmp_path / "backup.tar.gz"
    manifest = create_backup(container.settings, archive)
    assert archive.stat().st_mode & 0o777 == 0o600
    assert any(name.startswith("keys/backup-test/") for name in manifest["files"])  # type: ignore[union-attr]

    _wipe_everything(container, owner_db)
    assert container.settings.keystore_dir is not None
    import shutil

    shutil.rmtree(container.settings.keystore_dir)
    with container.db.session() as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == 0

    restore_backup(container.settings, archive, force=True)
    container.db.dispose()
    with container.db.session() as s:
        ids = sorted(s.scalars(select(AuditEvent.object_id).where(AuditEvent.event_type == "test:backup:row")))
    assert ids == ["0", "1", "2", "3", "4"]
    from egov.platform.keys import FileKeyStore

    restored = FileKeyStore(container.settings.keystore_dir, container.settings.keystore_passphrase_bytes())
    signer = restored.signer("backup-test")
    assert signer.info.public_key_der == info.public_key_der
    verify_signature(KeyAlgorithm.ED25519, signer.public_key_raw(), b"after restore", signer.sign(b"after restore"))


def test_damaged_archive_is_refused_before_anything_changes(container: Container, tmp_path: Path) -> None:
    container.keys.create("keep-me", KeyAlgorithm.ED25519)
    archive = tmp_path / "backup.tar.gz"
    create_backup(container.settings, archive)
    damaged = tmp_path / "damaged.tar.gz"
    with tarfile.open(archive, "r:gz") as src, tarfile.open(damaged, "w:gz") as dst:
        for member in src.getmembers():
            data = src.extractfile(member)
            if member.name.startswith("database"):
                payload = b"not a database"
                member.size = len(payload)
                import io

                dst.addfile(member, io.BytesIO(payload))
            else:
                dst.addfile(member, data)
    with pytest.raises(BackupError, match="missing or damaged"):
        restore_backup(container.settings, damaged, force=True)
    assert [k.name for k in container.keys.list()] == ["keep-me"]


def test_restore_refuses_to_overwrite_without_force(container: Container, tmp_path: Path) -> None:
    container.keys.create("existing", KeyAlgorithm.ED25519)
    archive = tmp_path / "backup.tar.gz"
    create_backup(container.settings, archive)
    with pytest.raises(BackupError, match="--force"):
        restore_backup(container.settings, archive)
