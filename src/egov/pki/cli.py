"""`egov pki …`: the root key ceremony (two custodians), issuing from a CSR, status changes, CRLs, trust list."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from egov.platform.cli import container_or_exit
from egov.platform.context import RequestContext, use_context
from egov.platform.errors import DomainError
from egov.platform.ids import request_id

app = typer.Typer(help="PKI: root ceremony, certificates, CRLs, trust list.", no_args_is_help=True)
ceremony_app = typer.Typer(help="The offline root CA; every step needs both custodians' shares.",
                           no_args_is_help=True)
trust_app = typer.Typer(help="External CAs trusted for validating signatures.", no_args_is_help=True)
app.add_typer(ceremony_app, name="ceremony")
app.add_typer(trust_app, name="trust")
console = Console(stderr=True)


@contextmanager
def _system() -> Iterator[tuple[Any, Any]]:
    """(container, CA service); the PKI system principal acts, channel "cli", errors as one clear line."""
    from egov.pki.runtime import ca_service
    from egov.pki.services import PKI_SYSTEM

    container = container_or_exit()
    with use_context(RequestContext(request_id=request_id(), principal=PKI_SYSTEM, channel="cli")):
        try:
            yield container, ca_service(container)
        except DomainError as exc:
            console.print(f"[red]error:[/red] {exc.detail_en}")
            for e in exc.errors:
                console.print(f"  {e.field}: {e.message_en} ({e.rule})")
            raise typer.Exit(1) from None


def _share(option: str | None, env: str, who: str) -> str:
    """A custodian's share: from a file (--share-a-file), the environment, or typed in without echo."""
    if option:
        return Path(option).read_text(encoding="ascii").strip()
    if os.environ.get(env):
        return os.environ[env].strip()
    return str(typer.prompt(f"Custodian {who}: enter your share", hide_input=True)).strip()


ShareA = Annotated[str | None, typer.Option("--share-a-file", help="File holding custodian A's share.")]
ShareB = Annotated[str | None, typer.Option("--share-b-file", help="File holding custodian B's share.")]


def _failed(container: Any, service: Any, step: str, reason: str) -> None:
    """Say why, and audit the failed attempt in a transaction of its own (the step's own rolls back)."""
    console.print(f"[red]error:[/red] {reason}")
    with container.db.session() as session:
        service.record_ceremony_failure(session, step, reason)


@ceremony_app.command("init")
def ceremony_init(
    out_a: Annotated[Path, typer.Option("--share-a-out", help="Where custodian A's share is written (0600).")],
    out_b: Annotated[Path, typer.Option("--share-b-out", help="Where custodian B's share is written (0600).")],
) -> None:
    """Create the root CA key (in EGOV_PKI__ROOT_DIR) and certificate; write the two custodians' shares."""
    from egov.pki.ceremony import CeremonyError

    with _system() as (container, service), container.db.session() as session:
        try:
            ca, a, b = service.init_root(session)
        except CeremonyError as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(1) from None
        for path, share in ((out_a, a), (out_b, b)):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(share + "\n")
    typer.echo(f"root CA {ca.subject} serial {ca.serial}; hand {out_a} to custodian A and {out_b} to custodian B, "
               "then move each to offline storage")


@ceremony_app.command("certify")
def ceremony_certify(
    name: Annotated[str, typer.Argument(help="specialised | public")],
    share_a: ShareA = None,
    share_b: ShareB = None,
) -> None:
    """The root certifies an issuing CA (its key is made in the platform key store)."""
    from egov.pki.ceremony import CeremonyError

    a = _share(share_a, "EGOV_PKI_SHARE_A", "A")
    b = _share(share_b, "EGOV_PKI_SHARE_B", "B")
    failure = ""
    with _system() as (container, service):
        with container.db.session() as session:
            try:
                ca = service.certify_issuing_ca(session, name, a, b)
            except (CeremonyError, ValueError) as exc:
                failure = str(exc)  # the step's transaction ends (empty) before the failure is recorded
        if failure:
            _failed(container, service, f"certify {name}", failure)
            raise typer.Exit(1)
    typer.echo(f"issuing CA {ca.name}: {ca.subject}, serial {ca.serial}, valid to {ca.not_after:%d/%m/%Y}")


@ceremony_app.command("root-crl")
def ceremony_root_crl(share_a: ShareA = None, share_b: ShareB = None) -> None:
    """Sign and publish a fresh root CRL (monthly, or when an issuing CA is retired)."""
    from egov.pki.ceremony import CeremonyError

    a = _share(share_a, "EGOV_PKI_SHARE_A", "A")
    b = _share(share_b, "EGOV_PKI_SHARE_B", "B")
    failure = ""
    with _system() as (container, service):
        with container.db.session() as session:
            try:
                crl = service.publish_root_crl(session, a, b)
            except CeremonyError as exc:
                failure = str(exc)
        if failure:
            _failed(container, service, "root-crl", failure)
            raise typer.Exit(1)
    typer.echo(f"root CRL #{crl.crl_number}, next update {crl.next_update:%d/%m/%Y %H:%M} UTC")


@app.command("issue")
def issue(
    profile: Annotated[str, typer.Option(help="agency_seal | officer_signing | citizen_signing | tls_server | "
                                              "tls_client")],
    csr: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="PKCS#10 request, PEM or DER.")],
    subject: Annotated[str, typer.Option(help="position id, agency code or personal ID (see profile)")],
    out: Annotated[Path, typer.Option(help="Write the certificate chain here (PEM).")],
    dns: Annotated[list[str] | None, typer.Option(help="DNS name (tls_server); repeat for several.")] = None,
    days: Annotated[int | None, typer.Option(help="Shorter validity than the profile's.")] = None,
) -> None:
    """Issue at once as the system (audited); officers use the request/approve pages instead."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    with _system() as (container, service), container.db.session() as session:
        cert = service.issue(session, profile=profile, csr=csr.read_bytes(), subject_ref=subject,
                             dns_names=dns or [], by=_principal(), days=days)
        chain = [cert.cert_der, *service.as_issued(session, cert).chain_der]
    out.write_bytes(b"".join(x509.load_der_x509_certificate(d).public_bytes(serialization.Encoding.PEM)
                             for d in chain))
    typer.echo(f"issued {cert.profile} serial {cert.serial} to {cert.subject}, valid to {cert.not_after:%d/%m/%Y}")


def _principal() -> Any:
    from egov.pki.services import PKI_SYSTEM

    return PKI_SYSTEM


@app.command("status")
def status(
    certificate_id: Annotated[str, typer.Argument()],
    action: Annotated[str, typer.Argument(help="suspend | unsuspend | revoke")],
    reason: Annotated[str, typer.Option(help="RFC 5280 reason for revoke, e.g. key_compromise")] = "unspecified",
) -> None:
    """Suspend, unsuspend or revoke a certificate; a new CRL is published in the same transaction."""
    with _system() as (container, service), container.db.session() as session:
        if action == "suspend":
            cert = service.suspend(session, certificate_id, by=_principal())
        elif action == "unsuspend":
            cert = service.unsuspend(session, certificate_id, by=_principal())
        elif action == "revoke":
            cert = service.revoke(session, certificate_id, reason=reason, by=_principal())
        else:
            console.print("[red]error:[/red] action must be suspend, unsuspend or revoke")
            raise typer.Exit(2)
    typer.echo(f"certificate {cert.serial}: {cert.status}")


@app.command("crl")
def crl(ca: Annotated[str, typer.Argument(help="specialised | public")] = "specialised") -> None:
    """Publish a fresh CRL for an online issuing CA."""
    with _system() as (container, service), container.db.session() as session:
        row = service.publish_crl(session, ca, by=_principal())
    typer.echo(f"CRL #{row.crl_number} of {ca}: {row.entries} entries, "
               f"next update {row.next_update:%d/%m/%Y %H:%M} UTC")


@app.command("ocsp-serve")
def ocsp_serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8080,
    reuse_port: Annotated[bool, typer.Option(help="Share the port with other responder processes "
                                                  "(SO_REUSEPORT): run one per core.")] = False,
) -> None:
    """Run the stand-alone OCSP responder (POST /pki/ocsp, GET /pki/ocsp/{base64}, GET /healthz).

    The same answers as /pki/ocsp in the web app, without the web stack: point the certificates' AIA
    at it (or route /pki/ocsp to it at the reverse proxy). Stops on SIGTERM/Ctrl-C.

    Example: egov pki ocsp-serve --host 0.0.0.0 --port 8080 --reuse-port
    """
    from egov.pki.ocsp_server import run
    from egov.pki.runtime import ocsp_responder
    from egov.platform.logging import configure_logging

    container = container_or_exit()
    configure_logging(container.settings.log_level, container.settings.log_json)
    console.print(f"OCSP responder on http://{host}:{port}/pki/ocsp (Ctrl-C stops it)")
    run(ocsp_responder(container), host, port, reuse_port=reuse_port)


@app.command("reconcile")
def reconcile() -> None:
    """Revoke certificates whose officer left the post or whose agency code was closed (registry)."""
    with _system() as (container, service), container.db.session() as session:
        changed = service.reconcile_with_registry(session)
        republished = service.republish_due_crls(session)
    typer.echo(f"{len(changed)} certificates revoked; {republished} CRLs republished")
    for cert_id, reason in changed:
        typer.echo(f"  {cert_id}: {reason}")


@app.command("list")
def list_cas() -> None:
    """The CAs and their latest CRL numbers."""
    table = Table("name", "kind", "subject", "serial", "valid to", "CRL #")
    with _system() as (container, service), container.db.session() as session:
        for ca in service.cas(session):
            table.add_row(ca.name, ca.kind, ca.subject, ca.serial, f"{ca.not_after:%d/%m/%Y}", str(ca.crl_number))
    Console().print(table)


@trust_app.command("add")
def trust_add(
    name: Annotated[str, typer.Option(help="A name people recognise, e.g. VNPT-CA")],
    cert: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="The CA certificate, PEM or DER.")],
    url: Annotated[list[str] | None, typer.Option(help="An OCSP/CRL/caIssuers URL validators may fetch.")] = None,
) -> None:
    """Put an external CA on the trust list."""
    with _system() as (container, service), container.db.session() as session:
        row = service.add_trusted_ca(session, name=name, cert_pem=cert.read_bytes(), fetch_urls=url or [],
                                     by=_principal())
    typer.echo(f"trusted {row.name} ({row.subject}), SHA-256 {row.fingerprint_sha256}")


@trust_app.command("remove")
def trust_remove(trusted_id: Annotated[str, typer.Argument()]) -> None:
    with _system() as (container, service), container.db.session() as session:
        row = service.remove_trusted_ca(session, trusted_id, by=_principal())
    typer.echo(f"removed {row.name} from the trust list")


@trust_app.command("list")
def trust_list() -> None:
    table = Table("id", "name", "subject", "valid to", "fetch URLs")
    with _system() as (container, service), container.db.session() as session:
        for t in service.trusted_cas(session):
            table.add_row(t.id, t.name, t.subject, f"{t.not_after:%d/%m/%Y}", t.fetch_urls.replace("\n", " "))
    Console().print(table)
