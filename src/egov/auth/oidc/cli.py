"""`egov oidc …`: register relying parties and machine clients, rotate secrets and signing keys, list them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from egov.auth.audit import AuthAudit
from egov.auth.cli import _as_system, print_rows
from egov.auth.oidc.clients import GRANT_TYPES
from egov.auth.oidc.errors import OAuthError
from egov.auth.oidc.provider import OidcProvider
from egov.auth.oidc.signing import ALGORITHMS
from egov.auth.settings import AuthSettings
from egov.platform.cli import container_or_exit
from egov.platform.clock import format_date
from egov.platform.errors import DomainError
from egov.soc import record_event

if TYPE_CHECKING:
    from egov.platform.container import Container

app = typer.Typer(help="OpenID Connect provider: relying parties (clients) and signing keys. "
                       "Every change is written to the audit log.", no_args_is_help=True)
clients_app = typer.Typer(help="Relying parties and machine clients.", no_args_is_help=True)
keys_app = typer.Typer(help="The provider's signing keys (published ahead of use, kept after).", no_args_is_help=True)
app.add_typer(clients_app, name="clients")
app.add_typer(keys_app, name="keys")
out = Console()
err = Console(stderr=True)


def _container() -> Container:
    container: Container = container_or_exit()
    return container


@clients_app.command("create")
def create(
    name: Annotated[str, typer.Option("--name", help="What users see on the consent screen, e.g. 'Cổng DVC tỉnh'.")],
    redirect_uri: Annotated[list[str] | None, typer.Option(
        "--redirect-uri", help="Exact https URI the code is sent back to; repeat for several.")] = None,
    grant: Annotated[list[str] | None, typer.Option(
        "--grant", help="Grant type; repeat. One of: " + ", ".join(GRANT_TYPES))] = None,
    scope: Annotated[list[str] | None, typer.Option(
        "--scope", help="Scope the client may ask for; repeat (openid, profile, vn_personal_id, "
                        "offline_access, or a machine scope like registry.read).")] = None,
    public: Annotated[bool, typer.Option("--public", help="A client that cannot keep a secret (mobile, "
                                                          "single-page): PKCE S256 is then required.")] = False,
    auth_method: Annotated[str | None, typer.Option(
        "--auth-method", help="client_secret_basic (default), client_secret_post or private_key_jwt.")] = None,
    jwks_file: Annotated[Path | None, typer.Option(
        "--jwks-file", help="The client's public JWKS (JSON) for private_key_jwt.", exists=True,
        dir_okay=False)] = None,
    opaque: Annotated[bool, typer.Option("--opaque", help="Opaque access tokens instead of JWTs.")] = False,
    sector: Annotated[str | None, typer.Option(
        "--sector", help="Sector identifier for pairwise subjects (default: the redirect URI's host).")] = None,
    dpop: Annotated[bool, typer.Option("--require-dpop", help="Refuse token requests without a DPoP proof.")] = False,
) -> None:
    """Register a client. The secret is printed once and only its keyed hash is stored."""
    container = _container()
    provider = OidcProvider.from_container(container)
    try:
        with _as_system(), container.db.session() as session:
            client, secret = provider.clients.create(
                session, name=name, client_type="public" if public else "confidential",
                redirect_uris=redirect_uri or [], grant_types=grant or ["authorization_code", "refresh_token"],
                scopes=scope or ["openid", "profile"], now=container.clock.now(), auth_method=auth_method,
                access_token_format="opaque" if opaque else "jwt", sector_identifier=sector,
                jwks=json.loads(jwks_file.read_text(encoding="utf-8")) if jwks_file else None, require_dpop=dpop)
            record_event(session, AuthAudit.CLIENT_CREATED, object_type="oidc_client", object_id=client.id,
                         details={"name": client.name, "type": client.client_type, "auth": client.auth_method})
    except DomainError as exc:
        err.print(f"[red]error:[/red] {exc.detail('vi')} / {exc.detail('en')}")
        for e in exc.errors:
            err.print(f"  {e.field}: {e.message('vi')} / {e.message('en')}")
        raise typer.Exit(1) from None
    out.print(f"client_id: {client.id}")
    if secret:
        out.print(f"client_secret: {secret}")
        err.print("[yellow]Store the secret now: it is shown only once.[/yellow]")


@clients_app.command("list")
def list_clients() -> None:
    """Every client with its type, grants and redirect URIs (never a secret)."""
    container = _container()
    provider = OidcProvider.from_container(container)
    with container.db.session() as session:
        views = provider.clients.list(session)
    if not views:
        out.print("Chưa có ứng dụng nào / no clients yet: egov oidc clients create --help")
        return
    rows = [(v.client_id, v.name, v.client_type, v.auth_method, ",".join(v.grant_types), " ".join(v.redirect_uris),
             format_date(v.created_at)) for v in views]
    print_rows(out, ("client_id", "name", "type", "auth", "grants", "redirect URIs", "created"), rows)


@clients_app.command("rotate-secret")
def rotate_secret(client_id: Annotated[str, typer.Argument(help="The client's id.")]) -> None:
    """Replace a client's secret at once (the old one stops working); prints the new one once."""
    container = _container()
    provider = OidcProvider.from_container(container)
    try:
        with _as_system(), container.db.session() as session:
            secret = provider.clients.rotate_secret(session, client_id, container.clock.now())
            record_event(session, AuthAudit.CLIENT_SECRET_ROTATED, object_type="oidc_client", object_id=client_id)
    except OAuthError as exc:
        err.print(f"[red]error:[/red] {exc.description}")
        raise typer.Exit(1) from None
    out.print(f"client_secret: {secret}")


@keys_app.command("rotate")
def rotate_key(alg: Annotated[str, typer.Option("--alg", help="ES256, RS256 or EdDSA.")] = "ES256") -> None:
    """Add a signing key: published in the JWKS now, signing after the publish-ahead period."""
    if alg not in ALGORITHMS:
        err.print(f"[red]error:[/red] --alg must be one of {', '.join(ALGORITHMS)}")
        raise typer.Exit(2)
    container = _container()
    info = OidcProvider.from_container(container).keys.rotate(alg)
    minutes = container.settings.section(AuthSettings).oidc_key_publish_ahead_minutes
    out.print(f"{info.key_id} created; published now, signs in {minutes} minutes")


@keys_app.command("list")
def list_keys() -> None:
    """The published keys (JWKS): the current signer, any announced next key and retired ones still needed."""
    container = _container()
    for key in OidcProvider.from_container(container).jwks()["keys"]:
        out.print(f"{key['alg']:6} kid={key['kid']}")
