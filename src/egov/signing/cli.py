"""`egov signing …`: validate a signed file, register a signing identity, schedule archive renewals."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from egov.bootstrap import Container

app = typer.Typer(help="Digital signatures: validate (ETSI EN 319 102-1), identities, B-LTA archive renewal.",
                  no_args_is_help=True)
out = Console()
err = Console(stderr=True)


def _container() -> Container:
    from egov.cli import container_or_exit

    return container_or_exit()  # type: ignore[no-any-return]


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
