"""`egov signing …`: validate a signed file, seal a run of PDFs, register a signing identity, schedule archive
renewals."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from egov.platform.cli import container_or_exit

if TYPE_CHECKING:
    from egov.platform.container import Container

app = typer.Typer(help="Digital signatures: validate (ETSI EN 319 102-1), identities, B-LTA archive renewal.",
                  no_args_is_help=True)
out = Console()
err = Console(stderr=True)


def _container() -> Container:
    return container_or_exit()


@contextmanager
def _cli_context() -> Iterator[None]:
    import getpass

    from egov.platform.context import RequestContext, use_context
    from egov.platform.ids import request_id
    from egov.platform.permissions import Principal

    user = getpass.getuser()
    operator = Principal(account_id=f"os:{user}", kind="system", display_name=user)
    with use_context(RequestContext(request_id=request_id(), principal=operator, channel="cli")):
        yield


@app.command()
def validate(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="signed PDF or XML, or a .p7s")],
    content: Annotated[Path | None, typer.Option(help="the signed file, for a detached CMS")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Validate against the trust list; exit code 0 only if every signature is TOTAL-PASSED."""
    from egov.signing.api import detect_kind
    from egov.signing.interfaces import SigningError
    from egov.signing.services import SigningService

    container = _container()
    service = SigningService.from_container(container)
    data = file.read_bytes()
    try:
        with _cli_context(), container.db.session() as session:
            report = service.validate(session, detect_kind(data), data,
                                      content.read_bytes() if content else None)
            session.commit()
    except SigningError as exc:
        err.print(f"[red]{exc.detail_en}[/red]")
        raise typer.Exit(2) from None
    if as_json:
        out.print_json(json.dumps(report.to_dict(), ensure_ascii=False))
    else:
        table = Table(title=f"{file.name}: {report.indication or 'no signature'}")
        for col in ("#", "format", "indication", "sub-indication", "level", "signer", "time-stamp"):
            table.add_column(col)
        for i, s in enumerate(report.signatures, 1):
            table.add_row(str(i), s.format, str(s.indication), s.sub_indication or "", s.level or "",
                          s.signer_name or s.signer_subject or "", s.timestamp_time.isoformat() if s.timestamp_time
                          else "")
        out.print(table)
    raise typer.Exit(0 if report.indication == "TOTAL-PASSED" else 1)


@app.command("register-identity")
def register_identity(
    holder: Annotated[str, typer.Option(help='"account:<id>" or "agency:<id>"')],
    key: Annotated[str, typer.Option(help="key name in the key store")],
    cert: Annotated[Path, typer.Option(exists=True, help="the certificate (PEM) the pki context issued")],
    chain: Annotated[list[Path] | None, typer.Option(help="issuing CA, then root (PEM); repeat")] = None,
    name: Annotated[str, typer.Option(help="name shown in visible signatures")] = "",
    position: Annotated[str, typer.Option()] = "",
    agency: Annotated[str, typer.Option()] = "",
) -> None:
    """Pair a key-store key with its certificate; refused if the certificate is for another key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from egov.signing.services import SigningService

    def der(path: Path) -> bytes:
        return x509.load_pem_x509_certificate(path.read_bytes()).public_bytes(serialization.Encoding.DER)

    container = _container()
    service = SigningService.from_container(container)
    certificate = der(cert)
    with _cli_context(), container.db.session() as session:
        record = service.register_identity(session, holder=holder, key_name=key, certificate_der=certificate,
                                           chain_der=[der(p) for p in chain or []],
                                           display_name=name or x509.load_der_x509_certificate(certificate)
                                           .subject.rfc4514_string(), position=position, agency_name=agency)
        session.commit()
        out.print(f"registered signing identity {record.id} for {holder}")


@app.command("seal")
def seal(
    files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False, help="PDF files to seal")],
    agency: Annotated[str, typer.Option(help="the agency id whose seal is applied")],
    out_dir: Annotated[Path, typer.Option(help="where the sealed copies go (created; nothing is overwritten)")],
    level: Annotated[str, typer.Option(help="B-B, B-T, B-LT or B-LTA")] = "B-T",
    seal_image: Annotated[Path | None, typer.Option(exists=True, help="PNG of the seal for the stamp")] = None,
) -> None:
    """Apply an agency's seal to many PDFs (a run of receipts or decisions), each one audited.

    Every sealed copy is recorded (signature row and audit event) before the next one starts; a file
    that cannot be sealed is reported and the run goes on. Exit code 1 if any file failed.

    Example: egov signing seal out/*.pdf --agency <agency-id> --out-dir sealed/
    """
    from rich.progress import Progress

    from egov.platform.errors import DomainError
    from egov.signing.interfaces import SigningError
    from egov.signing.services import SigningService

    if level not in ("B-B", "B-T", "B-LT", "B-LTA"):
        err.print(f"[red]error:[/red] --level must be B-B, B-T, B-LT or B-LTA, not {level!r}")
        raise typer.Exit(2)
    container = _container()
    service = SigningService.from_container(container)
    png = seal_image.read_bytes() if seal_image is not None else None
    out_dir.mkdir(parents=True, exist_ok=True)
    failed = 0
    with _cli_context():
        with container.db.session() as session:
            try:
                record = service.identity_of(session, f"agency:{agency}")
            except DomainError as exc:  # no seal for that agency
                err.print(f"[red]error:[/red] {exc.detail_en}")
                raise typer.Exit(2) from None
            session.expunge(record)
        with Progress(console=err) as progress:
            task = progress.add_task("Đóng dấu / sealing", total=len(files))
            for path in files:
                target = out_dir / f"{path.stem}.sealed.pdf"
                try:
                    # The target is claimed first (never overwritten, even by a file that appears meanwhile),
                    # so a sealed copy that is recorded can always be written.
                    with open(target, "xb") as sink:
                        try:
                            signed = service.sign_now(record, "pdf", path.read_bytes(), level=level, as_seal=True,
                                                      seal_png=png)
                        except BaseException:
                            sink.close()
                            target.unlink(missing_ok=True)
                            raise
                        sink.write(signed.data)
                except FileExistsError:
                    failed += 1
                    err.print(f"[red]{path}:[/red] {target} exists; nothing is overwritten.", soft_wrap=True)
                except (SigningError, OSError) as exc:
                    failed += 1
                    reason = exc.detail_en if isinstance(exc, SigningError) else f"{exc.strerror or exc}"
                    err.print(f"[red]{path}:[/red] {reason}", soft_wrap=True)
                progress.advance(task)
    out.print(f"sealed {len(files) - failed} of {len(files)} files into {out_dir}")
    raise typer.Exit(1 if failed else 0)


@app.command("renew-archives")
def renew_archives() -> None:
    """Queue the B-LTA archive renewal job (run it from cron, e.g. daily); `egov worker` runs it."""
    from egov.platform.jobs import enqueue
    from egov.signing.tasks import RENEW_ARCHIVES

    container = _container()
    with container.db.session() as session:
        enqueue(session, RENEW_ARCHIVES, {}, now=container.clock.now())
        session.commit()
    out.print("queued signing.renew_archives")
