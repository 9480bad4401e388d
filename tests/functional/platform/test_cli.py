"""The `egov` command as an operator meets it: help everywhere, one clear line when things are wrong."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from tests.factories.softhsm import SoftHsmToken

EGOV = [sys.executable, "-m", "egov"]


def run(
    args: list[str], env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("EGOV_")}
    full_env.update(env or {})
    return subprocess.run(EGOV + args, capture_output=True, text=True, env=full_env, cwd=cwd, timeout=120)


def test_help_lists_every_command_group() -> None:
    out = run(["--help"])
    assert out.returncode == 0, out.stderr
    for group in ("serve", "worker", "db", "keys", "registry", "audit", "accounts", "demo", "backup", "restore"):
        assert group in out.stdout


def test_database_down_at_start_is_one_clear_line(tmp_path: Path) -> None:
    out = run(["db", "upgrade"], env={"EGOV_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none",
                                      "EGOV_DATA_DIR": str(tmp_path)})
    assert out.returncode == 3
    assert "database unreachable at postgresql+psycopg://nobody@127.0.0.1:1/none" in out.stderr
    assert "Traceback" not in out.stderr


def test_bad_setting_is_one_clear_line(tmp_path: Path) -> None:
    out = run(["db", "current"], env={"EGOV_DATABASE_URL": "oracle://x", "EGOV_DATA_DIR": str(tmp_path)})
    assert out.returncode == 2
    assert "EGOV_DATABASE_URL must be sqlite" in out.stderr
    assert "Traceback" not in out.stderr


def test_serve_refuses_a_database_that_is_not_migrated(tmp_path: Path) -> None:
    with socket.socket() as s:  # a free port: the port is checked first, and 1 needs root
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = run(["serve", "--host", "127.0.0.1", "--port", str(port)], env={"EGOV_DATA_DIR": str(tmp_path)})
    assert out.returncode == 2
    assert "egov db upgrade" in out.stderr


def test_keys_create_list_rotate_verify(tmp_path: Path) -> None:
    env = {"EGOV_DATA_DIR": str(tmp_path), "EGOV_KEYSTORE_PASSPHRASE": "cli-test-passphrase"}
    assert run(["keys", "create", "demo-key", "--algorithm", "ECDSA-P256"], env).returncode == 0
    rotated = run(["keys", "rotate", "demo-key"], env)
    assert "demo-key/v2 is now active" in rotated.stdout
    listed = run(["keys", "list"], env)
    assert "demo-key" in listed.stdout and "ECDSA-P256" in listed.stdout
    assert "key store OK (2 key versions)" in run(["keys", "verify"], env).stdout
    wrong = run(["keys", "verify"], {**env, "EGOV_KEYSTORE_PASSPHRASE": "not-the-passphrase-zq9"})
    assert wrong.returncode == 1
    assert "problem" in wrong.stderr
    assert "not-the-passphrase-zq9" not in wrong.stderr + wrong.stdout


def test_keys_verify_on_the_pkcs11_store(softhsm_token: SoftHsmToken, tmp_path: Path) -> None:
    """`egov keys verify` works on the HSM store too: each private half signs, its public half verifies."""
    env = {"EGOV_DATA_DIR": str(tmp_path), "EGOV_KEY_STORE": "pkcs11", "EGOV_PKCS11_MODULE": softhsm_token.module,
           "EGOV_PKCS11_TOKEN_LABEL": softhsm_token.label, "EGOV_PKCS11_PIN": softhsm_token.pin,
           "SOFTHSM2_CONF": str(softhsm_token.conf)}
    for name, algorithm in (("hsm-ec", "ECDSA-P256"), ("hsm-rsa", "RSA-2048")):
        created = run(["keys", "create", name, "--algorithm", algorithm], env)
        assert created.returncode == 0, created.stderr
    assert run(["keys", "rotate", "hsm-ec"], env).returncode == 0
    ok = run(["keys", "verify"], env)
    assert ok.returncode == 0, ok.stderr
    assert "key store OK (3 key versions)" in ok.stdout
    # Break it twice: one private half removed, one metadata object pointing at another key's public half.
    import pkcs11
    from pkcs11 import Attribute, ObjectClass

    token = pkcs11.lib(softhsm_token.module).get_token(token_label=softhsm_token.label)
    with token.open(user_pin=softhsm_token.pin, rw=True) as s:
        next(s.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.ID: b"hsm-ec/v1"})).destroy()
        metas = {o[Attribute.LABEL]: o for o in s.get_objects({Attribute.CLASS: ObjectClass.DATA})}
        other = json.loads(bytes(metas["egov-meta:hsm-ec/v2"][Attribute.VALUE]))
        rsa = json.loads(bytes(metas["egov-meta:hsm-rsa/v1"][Attribute.VALUE]))
        rsa["public_key"] = other["public_key"]
        rsa["algorithm"] = other["algorithm"]
        template = {a: metas["egov-meta:hsm-rsa/v1"][a] for a in (Attribute.APPLICATION, Attribute.LABEL)}
        metas["egov-meta:hsm-rsa/v1"].destroy()  # SoftHSM's data objects are read-only: replace it
        s.create_object({**template, Attribute.CLASS: ObjectClass.DATA, Attribute.TOKEN: True,
                         Attribute.PRIVATE: False, Attribute.VALUE: json.dumps(rsa, sort_keys=True).encode()})
    broken = run(["keys", "verify"], env)
    assert broken.returncode == 1
    assert "hsm-ec/v1: 0 private keys on the token" in broken.stderr
    assert "hsm-rsa/v1: the public key on the token differs" in broken.stderr
    assert "Traceback" not in broken.stderr and softhsm_token.pin not in broken.stderr + broken.stdout


def test_demo_accounts_are_shown_again_and_all_in_the_readme(tmp_path: Path) -> None:
    """`make run` prints `egov demo accounts` each time; the README's table names every one of them."""
    from egov.demo import STAFF

    env = {"EGOV_DATA_DIR": str(tmp_path), "COLUMNS": "200"}
    assert run(["db", "upgrade"], env).returncode == 0
    loaded = run(["demo", "load", "--citizens", "50"], env)
    assert loaded.returncode == 0, loaded.stderr
    shown = run(["demo", "accounts"], env)
    assert shown.returncode == 0, shown.stderr
    usernames = [row[0] for row in STAFF]
    citizen = [line.split("│")[1].strip() for line in loaded.stdout.splitlines()
               if "công dân" in line and "│" in line]
    assert len(citizen) == 1 and citizen[0].isdigit()
    for username in [*usernames, citizen[0]]:
        assert username in shown.stdout
    assert "egov-demo-2026" in shown.stdout
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    for username in usernames:
        assert f"| `{username}` |" in readme, f"{username} is missing from the README's demo table"
    assert "egov demo accounts" in readme  # the citizen's personal ID changes with the seed: the README says where
