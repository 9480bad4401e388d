"""`egov registry …`: bulk import and export of citizens, with a progress bar; the system acts, and is audited."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from egov.platform.cli import container_or_exit
from egov.platform.context import RequestContext, use_context
from egov.platform.ids import request_id
from egov.registry.services import SYSTEM_PRINCIPAL, CitizenImporter, ImportReport, count_exportable, export_citizens

app = typer.Typer(help="Citizens, agencies, enterprises, officers: import, export, look up.", no_args_is_help=True)
import_app = typer.Typer(help="Bulk imports (CSV, UTF-8).", no_args_is_help=True)
export_app = typer.Typer(help="Bulk exports (CSV, UTF-8); every export is audited.", no_args_is_help=True)
app.add_typer(import_app, name="import")
app.add_typer(export_app, name="export")
console = Console(stderr=True)
ERRORS_SHOWN = 50


@contextmanager
def _as_system() -> Iterator[None]:
    """The CLI acts as the system principal; audit events name it and the channel "cli"."""
    with use_context(RequestContext(request_id=request_id(), principal=SYSTEM_PRINCIPAL, channel="cli")):
        yield


def _count_lines(path: Path) -> int:
    """Data rows, roughly (newlines minus the header): enough for a progress bar, read at disk speed."""
    lines = 0
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            lines += block.count(b"\n")
    return max(lines - 1, 0)


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=False)


def _write_report(report: ImportReport, path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["line", "field", "rule", "message_vi", "message_en"])
        rows = ([report.file_error] if report.file_error else []) + report.errors
        writer.writerows([e.line or "", e.field, e.rule, e.message_vi, e.message_en] for e in rows)


def _print_report(report: ImportReport) -> None:
    if report.file_error is not None:
        console.print(f"[red]error:[/red] {report.file_error.message_en}")
        return
    if report.errors:
        table = Table("line", "field", "rule", "message", title=f"Rows with errors ({report.error_count} errors)")
        for e in report.errors[:ERRORS_SHOWN]:
            table.add_row(str(e.line or ""), e.field, e.rule, e.message_en)
        console.print(table)
        if report.error_count > ERRORS_SHOWN:
            console.print(f"… {report.error_count - ERRORS_SHOWN} more; use --report FILE for the full list")
    verdict = (
        "[green]all rows imported[/green]" if report.ok
        else f"[yellow]imported {report.imported}, skipped {report.rejected_rows} bad rows[/yellow]" if report.imported
        else "[red]nothing imported[/red] (fix the rows above, or use --skip-invalid to import only the good ones)"
    )
    console.print(f"{report.rows} rows read, {report.imported} imported in {report.seconds:.1f}s "
                  f"({report.rows_per_second:,.0f} rows/s): {verdict}")


@import_app.command("citizens")
def import_citizens(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="CSV file, UTF-8.")],
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help="Import the good rows, skip the bad.")] = False,
    agency_code: Annotated[str | None, typer.Option("--agency-code", help="Managing agency for rows without "
                                                    "managing_agency_code.")] = None,
    report_path: Annotated[Path | None, typer.Option("--report", help="Write every bad row to this CSV.")] = None,
) -> None:
    """Import citizens. Columns: personal_id, full_name, birth_date, sex (required); phone, email,
    managing_agency_code, guardian_personal_id. Without --skip-invalid one bad row stores nothing.
    Exit code 0 when every row was imported, 1 otherwise."""
    container = container_or_exit()
    total = _count_lines(file)
    with _as_system(), _progress() as bar, container.db.session() as session, file.open("rb") as fh:
        task = bar.add_task("importing", total=total)
        report = CitizenImporter(session, container.clock, by=SYSTEM_PRINCIPAL).import_rows(
            fh, skip_invalid=skip_invalid, default_agency_code=agency_code,
            progress=lambda done: bar.update(task, completed=done),
        )
    _print_report(report)
    if report_path is not None:
        _write_report(report, report_path)
        console.print(f"report written to {report_path}")
    raise typer.Exit(0 if report.ok else 1)


@export_app.command("citizens")
def export_citizens_command(
    out: Annotated[Path, typer.Argument(dir_okay=False, help="Where to write the CSV.")],
    force: Annotated[bool, typer.Option("--force", help="Overwrite OUT if it exists.")] = False,
) -> None:
    """Export every citizen (the import's columns, ISO dates). Audited as the system, channel "cli"."""
    if out.exists() and not force:
        console.print(f"[red]error:[/red] {out} exists; pass --force to overwrite it")
        raise typer.Exit(2)
    container = container_or_exit()
    with _as_system(), _progress() as bar, container.db.session() as session:
        task = bar.add_task("exporting", total=count_exportable(session, by=SYSTEM_PRINCIPAL))
        with out.open("w", encoding="utf-8", newline="") as fh:
            rows = export_citizens(session, fh, by=SYSTEM_PRINCIPAL,
                                   progress=lambda done: bar.update(task, completed=done))
    console.print(f"{rows} citizens written to {out}")
