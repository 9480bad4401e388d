"""Dual control of the root: both custodians' shares are needed; one share, a typo or a repeat is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from egov.pki.ceremony import ROOT_KEY_NAME, CeremonyError, join_shares, open_root_store, split_new_passphrase
from egov.platform.keys import FileKeyStore, KeyAlgorithm


def _root(tmp_path: Path) -> tuple[Path, str, str]:
    passphrase, a, b = split_new_passphrase()
    FileKeyStore(tmp_path / "root", passphrase).create(ROOT_KEY_NAME, KeyAlgorithm.ECDSA_P256)
    return tmp_path / "root", a, b


def test_both_shares_unlock_the_root(tmp_path: Path) -> None:
    directory, a, b = _root(tmp_path)
    store = open_root_store(directory, a, b)
    assert store.signer(ROOT_KEY_NAME).sign(b"x")


def test_one_share_alone_cannot_unlock(tmp_path: Path) -> None:
    directory, a, b = _root(tmp_path)
    _, a2, b2 = split_new_passphrase()  # a custodian who has only their own share must guess the other
    with pytest.raises(CeremonyError, match="do not unlock"):
        open_root_store(directory, a, b2)
    with pytest.raises(CeremonyError, match="do not unlock"):
        open_root_store(directory, a2, b)
    # a share is one-time-pad material: alone it is not the passphrase, nor derived from it
    assert a.split(":")[1] not in join_shares(a, b).decode() and b.split(":")[1] not in join_shares(a, b).decode()


def test_typos_and_repeated_shares_are_named(tmp_path: Path) -> None:
    directory, a, b = _root(tmp_path)
    with pytest.raises(CeremonyError, match="expected custodian share B"):
        open_root_store(directory, a, a.replace("-A:", "-A:"))
    typo = b[:-12] + ("A" if b[-12] != "A" else "B") + b[-11:]
    with pytest.raises(CeremonyError, match="mistyped"):
        open_root_store(directory, a, typo)
    with pytest.raises(CeremonyError, match="form"):
        open_root_store(directory, a, "hello")
