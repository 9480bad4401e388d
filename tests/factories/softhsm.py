"""Throwaway SoftHSM2 tokens: a private token directory per test run, a fresh token per test."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

MODULE = "/usr/lib/softhsm/libsofthsm2.so"


@dataclass(frozen=True)
class SoftHsmToken:
    module: str
    label: str
    pin: str
    so_pin: str
    conf: Path


@pytest.fixture(scope="session")
def softhsm_conf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SOFTHSM2_CONF for the whole run: SoftHSM reads it once, when the module is first initialised,
    and python-pkcs11 keeps the module loaded, so one directory serves every token of the process."""
    if shutil.which("softhsm2-util") is None or not Path(MODULE).exists():
        pytest.skip("softhsm2 is not installed (`make system-deps` installs it)")
    directory = tmp_path_factory.mktemp("softhsm")
    (directory / "tokens").mkdir()
    conf = directory / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {directory / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    return conf


def make_token(conf: Path, label: str | None = None, pin: str = "1234", so_pin: str = "5678") -> SoftHsmToken:
    label = label or f"egov-{secrets.token_hex(6)}"
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", so_pin],
                   check=True, capture_output=True, env={**os.environ, "SOFTHSM2_CONF": str(conf)})
    # SoftHSM lists its slots once, at C_Initialize; a token made afterwards is seen only after the
    # (process-wide) module is initialised again. That closes every open session, so make tokens first.
    import pkcs11

    lib = pkcs11.lib(MODULE)
    if lib.initialized:
        lib.reinitialize()
    return SoftHsmToken(MODULE, label, pin, so_pin, conf)


@pytest.fixture
def softhsm_token(softhsm_conf: Path) -> SoftHsmToken:
    """A fresh, empty token (user PIN 1234, SO PIN 5678) with a unique label."""
    return make_token(softhsm_conf)
