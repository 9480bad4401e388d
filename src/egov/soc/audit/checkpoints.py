"""Signed checkpoints of the audit tree: made on an interval, stored, and published outside the database."""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from egov.platform.clock import Clock
from egov.platform.db import Database
from egov.platform.keys import KeyAlgorithm, KeyNotFound, KeyStore, Signer
from egov.settings import Settings
from egov.soc.audit import merkle
from egov.soc.audit.sequencer import take_write_lock
from egov.soc.audit.signed_note import (
    CheckpointError,
    key_id,
    parse_checkpoint,
    sign_checkpoint,
    verifier_key,
)
from egov.soc.audit.tree import consistency_path, root_at, tree_size
from egov.soc.interfaces import CheckpointRefused
from egov.soc.models import AuditCheckpoint
from egov.soc.settings import SocSettings

log = logging.getLogger("egov.soc.audit.checkpoints")

LOCK_NAME = "egov.soc.checkpointer"
LATEST_FILE = "checkpoint"
VKEY_FILE = "vkey"
# SubjectPublicKeyInfo of an Ed25519 key is this fixed header followed by the 32 raw key bytes.
_ED25519_SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")


@dataclass(frozen=True)
class CheckpointInfo:
    size: int
    root: bytes
    note: str
    key_id: str
    created_at: datetime


def _info(row: AuditCheckpoint) -> CheckpointInfo:
    return CheckpointInfo(int(row.tree_size), bytes(row.root_hash), row.note, row.key_id, row.created_at)


def latest_checkpoint(session: Session) -> CheckpointInfo | None:
    row = session.execute(
        select(AuditCheckpoint).order_by(AuditCheckpoint.tree_size.desc()).limit(1)
    ).scalar_one_or_none()
    return _info(row) if row is not None else None


def checkpoint_at(session: Session, size: int) -> CheckpointInfo | None:
    row = session.get(AuditCheckpoint, size)
    return _info(row) if row is not None else None


def ed25519_raw(public_key_der: bytes) -> bytes:
    """The 32 raw bytes of an Ed25519 SubjectPublicKeyInfo (what signed notes and vkeys carry)."""
    if len(public_key_der) != 44 or not public_key_der.startswith(_ED25519_SPKI_PREFIX):
        raise CheckpointError("the audit checkpoint key is not an Ed25519 key")
    return public_key_der[len(_ED25519_SPKI_PREFIX):]


def audit_signer(keys: KeyStore, name: str) -> Signer:
    """The Ed25519 signer for checkpoints, creating the key in the store on first use."""
    ensure = getattr(keys, "ensure", None)
    if callable(ensure):
        ensure(name, KeyAlgorithm.ED25519)
    else:
        try:
            keys.signer(name)
        except KeyNotFound:
            keys.create(name, KeyAlgorithm.ED25519)
    signer = keys.signer(name)
    if signer.info.algorithm is not KeyAlgorithm.ED25519:
        raise CheckpointError(f"key {name!r} is {signer.info.algorithm}; checkpoints need Ed25519")
    return signer


def verifier_keys(keys: KeyStore, key_store_name: str, origin: str) -> dict[bytes, str]:
    """Every version of the audit key as {4-byte note key ID: vkey}; retired versions still verify old notes."""
    try:
        infos = keys.versions(key_store_name)
    except KeyNotFound:
        return {}
    out: dict[bytes, str] = {}
    for info in infos:
        raw = ed25519_raw(info.public_key_der)
        out[key_id(origin, raw)] = verifier_key(origin, raw)
    return out


def active_vkey(keys: KeyStore, settings: Settings) -> str:
    signer = audit_signer(keys, settings.section(SocSettings).audit_key_name)
    return verifier_key(settings.section(SocSettings).audit_origin, signer.public_key_raw())


def _atomic_write_text(path: Path, content: str) -> None:
    """Readers see the old file or the new one, never half of either; survives a crash once renamed."""
    tmp = path.parent / f".{path.name}.tmp-{secrets.token_hex(6)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        try:
            os.fchmod(fd, 0o644)  # public by design: anyone may read a checkpoint
            data = memoryview(content.encode("utf-8"))
            while data:
                data = data[os.write(fd, data):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def published_size(directory: Path) -> int | None:
    """Tree size of the latest published checkpoint file, if there is a readable one."""
    try:
        return parse_checkpoint((directory / LATEST_FILE).read_bytes()).size
    except (OSError, CheckpointError):
        return None


def publish(directory: Path, cp: CheckpointInfo, vkey: str) -> None:
    """Write `checkpoint.<size>` (history), `checkpoint` (latest; never moved backwards) and `vkey`.

    Files outside the database are what catches a truncated log: whoever deletes the tail of the
    tables must also reach every copy of these files.
    """
    directory.mkdir(parents=True, exist_ok=True)
    _atomic_write_text(directory / f"{LATEST_FILE}.{cp.size}", cp.note)
    current = published_size(directory)
    if current is None or current <= cp.size:
        _atomic_write_text(directory / LATEST_FILE, cp.note)
    vkey_path = directory / VKEY_FILE
    if not vkey_path.exists() or vkey_path.read_text(encoding="utf-8").strip() != vkey:
        _atomic_write_text(vkey_path, vkey + "\n")


class Checkpointer:
    """Signs a checkpoint every `checkpoint_interval_seconds` when the tree grew, then publishes it."""

    def __init__(self, db: Database, clock: Clock, keys: KeyStore, settings: Settings) -> None:
        self.db = db
        self.clock = clock
        self.keys = keys
        self.settings = settings
        directory = settings.section(SocSettings).checkpoint_dir
        assert directory is not None
        self.directory = Path(directory)

    def run(self, *, force: bool = False) -> CheckpointInfo | None:
        """Make a checkpoint if due (or `force`, when the tree grew at all); returns it, or None.

        Before signing, the new tree is proved consistent with the last signed one from the stored
        nodes, so a tampered prefix makes the checkpointer refuse instead of signing over it.
        """
        signer = audit_signer(self.keys, self.settings.section(SocSettings).audit_key_name)
        origin = self.settings.section(SocSettings).audit_origin
        with self.db.session() as session:
            if not take_write_lock(session, LOCK_NAME):
                return None
            size = tree_size(session)
            last = latest_checkpoint(session)
            now = self.clock.now()
            if size == 0 or (last is not None and size <= last.size):
                self._republish_if_behind(last)
                return None
            interval = timedelta(seconds=self.settings.section(SocSettings).checkpoint_interval_seconds)
            if not force and last is not None and now - last.created_at < interval:
                return None
            root = root_at(session, size)
            if last is not None:
                proof = consistency_path(session, last.size, size)
                try:
                    merkle.verify_consistency(last.size, size, last.root, root, proof)
                except merkle.ProofError as exc:
                    raise CheckpointRefused(
                        f"the tree of size {size} does not extend the signed checkpoint of size {last.size}: {exc}"
                    ) from exc
            note = sign_checkpoint(origin, size, root, signer, origin)
            row = AuditCheckpoint(tree_size=size, root_hash=root, note=note, key_id=signer.info.key_id,
                                  created_at=now)
            session.add(row)
            session.flush()
            cp = _info(row)
        publish(self.directory, cp, verifier_key(origin, signer.public_key_raw()))
        log.info("audit checkpoint signed", extra={"tree_size": cp.size, "key_id": cp.key_id})
        return cp

    def _republish_if_behind(self, last: CheckpointInfo | None) -> None:
        """A crash between commit and publishing leaves the files behind; the next round catches up."""
        if last is None:
            return
        current = published_size(self.directory)
        if current is None or current < last.size:
            publish(self.directory, last, active_vkey(self.keys, self.settings))
