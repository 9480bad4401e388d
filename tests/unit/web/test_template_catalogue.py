"""Templates translate with gettext: no inline (vi, en) pairs, a consistent catalogue, compiled by the build."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[3]
TEMPLATES = ROOT / "src" / "egov" / "web" / "templates"
PO = ROOT / "src" / "egov" / "locale" / "en" / "LC_MESSAGES" / "messages.po"


def _catalogue() -> dict[str, str]:
    with PO.open("rb") as fh:
        return {str(m.id): str(m.string) for m in read_po(fh, locale="en") if m.id}


def test_no_template_writes_a_vietnamese_english_pair_inline() -> None:
    offenders = [f"{p.relative_to(TEMPLATES)}:{n}" for p in sorted(TEMPLATES.rglob("*.html"))
                 for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
                 if re.search(r"\bpick\(", line)]
    assert list(TEMPLATES.rglob("*.html")), "no templates found: the check would be empty"
    assert not offenders, "use _(\"…\") with the English in messages.po: " + ", ".join(offenders)


def test_the_catalogue_has_no_errors_and_keeps_every_placeholder() -> None:
    with PO.open("rb") as fh:
        catalogue = read_po(fh, locale="en")
    errors = [(m.id, str(e)) for m, errs in catalogue.check() for e in errs]
    assert not errors
    for message in catalogue:
        if message.id:
            names = set(re.findall(r"%\((\w+)\)s", str(message.id)))
            assert names == set(re.findall(r"%\((\w+)\)s", str(message.string))), message.id


def test_an_installed_build_has_the_compiled_catalogue_even_without_one_in_the_tree(tmp_path: Path) -> None:
    """A plain `pip install .` from a clean clone (no .mo committed) ships an English .mo built from the .po."""
    tree = tmp_path / "clone"
    shutil.copytree(ROOT / "src", tree / "src", ignore=shutil.ignore_patterns("__pycache__", "*.mo", "*.egg-info"))
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(ROOT / name, tree / name)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path / "dist"),
                            str(tree)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("egov-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        mo = read_mo(BytesIO(zf.read("egov/locale/en/LC_MESSAGES/messages.mo")))
    compiled = {str(m.id): str(m.string) for m in mo if m.id}
    assert compiled == {k: v for k, v in _catalogue().items() if v}
    assert compiled["Đăng nhập"] == "Sign in"


def test_every_form_leaves_validation_to_the_server() -> None:
    """`novalidate` everywhere: the browser's own pop-ups are English and one at a time; the server answers in
    the user's language with every error at once (the error summary)."""
    forms = [(p.relative_to(TEMPLATES), m.group(0)) for p in sorted(TEMPLATES.rglob("*.html"))
             for m in re.finditer(r"<form\b[^>]*>", p.read_text(encoding="utf-8"))]
    assert len(forms) > 20
    assert not [f for f in forms if "novalidate" not in f[1]]


def test_a_po_edited_after_compiling_wins_over_the_stale_mo(tmp_path: Path) -> None:
    import os

    from egov.platform.i18n import _edited_since_compiled

    po, mo = tmp_path / "messages.po", tmp_path / "messages.mo"
    po.write_text("x")
    mo.write_bytes(b"x")
    os.utime(po, (1_000, 1_000))
    os.utime(mo, (2_000, 2_000))
    assert not _edited_since_compiled(po, mo)
    os.utime(po, (3_000, 3_000))
    assert _edited_since_compiled(po, mo)
