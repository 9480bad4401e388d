"""Build hook: compile the gettext catalogues (.po -> .mo) so every wheel and `pip install .` ships them."""

from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

LOCALE = Path("src/egov/locale")


def compile_catalogue(po: Path, mo: Path) -> None:
    """Babel's own compiler (a build requirement), refusing a catalogue with errors rather than shipping it."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as fh:
        catalogue = read_po(fh, locale=po.parent.parent.name)
    errors = [(m.id, err) for m, errs in catalogue.check() for err in errs]
    if errors:
        raise SystemExit(f"{po}: {errors[:5]}")
    mo.parent.mkdir(parents=True, exist_ok=True)
    with mo.open("wb") as fh:
        write_mo(fh, catalogue, use_fuzzy=False)


class BuildPyWithCatalogues(build_py):
    """Non-editable builds write the .mo into the build tree; an editable install writes it next to the .po."""

    def run(self) -> None:
        super().run()
        for po in sorted(LOCALE.glob("*/LC_MESSAGES/messages.po")):
            relative = po.relative_to("src").with_suffix(".mo")
            target = Path("src") / relative if self.editable_mode else Path(self.build_lib) / relative
            compile_catalogue(po, target)

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        mos = [str(Path(self.build_lib) / po.relative_to("src").with_suffix(".mo"))
               for po in LOCALE.glob("*/LC_MESSAGES/messages.po")]
        return [*super().get_outputs(include_bytecode), *mos]


setup(cmdclass={"build_py": BuildPyWithCatalogues})
