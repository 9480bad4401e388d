"""`egov federation …`: configure the upstream OpenID providers citizens may sign in with (e.g. VNeID)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from egov.auth.cli import _as_system, print_rows
from egov.auth.federation.service import Federation
from egov.platform.cli import container_or_exit
from egov.platform.clock import format_date
from egov.platform.errors import DomainError

app = typer.Typer(help="Upstream identity providers (a VNeID-style national provider): citizens sign in there and "
                       "are linked by personal ID. Every change is written to the audit log.", no_args_is_help=True)
out = Console()
err = Console(stderr=True)


def _fail(exc: DomainError) -> typer.Exit:
    err.print(f"[red]error:[/red] {exc.detail('vi')} / {exc.detail('en')}")
    for e in exc.errors:
        err.print(f"  {e.field}: {e.message('vi')} / {e.message('en')}")
    return typer.Exit(1)


def _acr_map(pairs: list[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for pair in pairs:
        value, sep, level = pair.rpartition("=")
        if not sep or not value:
            err.print(f"[red]error:[/red] --acr {pair!r}: write UPSTREAM_ACR=LEVEL, e.g. urn:vneid:loa:2=2")
            raise typer.Exit(2)
        mapping[value] = level
    return mapping


@app.command("add")
def add(
    provider_id: Annotated[str, typer.Option("--id", help="Short name used in URLs, e.g. vneid.")],
    issuer: Annotated[str, typer.Option("--issuer", help="The provider's issuer URL (https; its discovery "
                                                         "document must name exactly this issuer).")],
    client_id: Annotated[str, typer.Option("--client-id", help="The client_id the provider issued to us.")],
    acr: Annotated[list[str], typer.Option("--acr", help="Map an upstream acr to our level: "
                                                         "urn:vneid:loa:2=2. Repeat. Unmapped values are refused.")],
    name: Annotated[str, typer.Option("--name", help="Shown on the sign-in button: 'Đăng nhập qua NAME'.")] = "",
    secret_file: Annotated[Path | None, typer.Option(
        "--client-secret-file", help="File holding the client secret (otherwise it is asked for, hidden; "
                                     "never pass it on the command line).", exists=True, dir_okay=False)] = None,
    scopes: Annotated[str, typer.Option("--scopes", help="Scopes to ask for.")] = "openid profile vn_personal_id",
    personal_id_claim: Annotated[str, typer.Option("--personal-id-claim",
                                                   help="The claim carrying the 12-digit personal ID.")]
    = "vn_personal_id",
) -> None:
    """Add a provider. Our redirect URI to register with it is printed; the secret is stored sealed."""
    mapping = _acr_map(acr)
    secret = (secret_file.read_text(encoding="utf-8").strip() if secret_file
              else typer.prompt("client secret", hide_input=True))
    container = container_or_exit()
    federation = Federation.from_container(container)
    try:
        with _as_system(), container.db.session() as session:
            row = federation.add_provider(session, provider_id=provider_id, display_name=name or provider_id,
                                          issuer=issuer, client_id=client_id, client_secret=secret, acr_map=mapping,
                                          scopes=scopes, personal_id_claim=personal_id_claim)
    except DomainError as exc:
        raise _fail(exc) from None
    out.print(f"{row.id} added; register this redirect URI with the provider: {federation.redirect_uri(row.id)}")


def _set_status(provider_id: str, status: str) -> None:
    container = container_or_exit()
    try:
        with _as_system(), container.db.session() as session:
            Federation.from_container(container).set_status(session, provider_id, status)
    except DomainError as exc:
        raise _fail(exc) from None
    out.print(f"{provider_id}: {status}")


@app.command("disable")
def disable(provider_id: Annotated[str, typer.Argument(help="The provider's id.")]) -> None:
    """Stop offering the provider at once (linked accounts keep their other ways to sign in)."""
    _set_status(provider_id, "disabled")


@app.command("enable")
def enable(provider_id: Annotated[str, typer.Argument(help="The provider's id.")]) -> None:
    """Offer a disabled provider again."""
    _set_status(provider_id, "active")


@app.command("list")
def list_providers() -> None:
    """Every configured provider with its issuer, client id, status and acr map (never the secret)."""
    container = container_or_exit()
    with container.db.session() as session:
        rows = [(p.id, p.display_name, p.issuer, p.client_id, p.status, p.acr_map, format_date(p.created_at))
                for p in Federation.providers(session, active_only=False)]
    if not rows:
        out.print("Chưa có nhà cung cấp định danh nào / no providers yet: egov federation add --help")
        return
    print_rows(out, ("id", "name", "issuer", "client_id", "status", "acr → level", "added"), rows)
