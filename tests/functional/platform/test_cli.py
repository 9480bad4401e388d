"""The `egov` command as an operator meets it: help everywhere, one clear line when things are wrong."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
    out = run(["serve", "--port", "1"], env={"EGOV_DATA_DIR": str(tmp_path)})
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
