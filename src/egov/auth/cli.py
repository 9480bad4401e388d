"""`egov accounts …`: create officers and administrators, grant and revoke roles, set passwords, list."""

from __future__ import annotations

import getpass
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from egov.auth.agencies import agency_id_for_code
from egov.auth.models import AccountKind
from egov.auth.roles import ROLES, Role
from egov.auth.services import AccountService
from egov.platform.cli import container_or_exit
from egov.platform.clock import today_vn
from egov.platform.context import RequestContext, use_context
from egov.platform.errors import DomainError
from egov.platform.ids import request_id
from egov.platform.permissions import GLOBAL

if TYPE_CHECKING:
    from egov.platform.container import Container

app = typer.Typer(help="Accounts and roles. Runs as the system; every change is written to the audit log.",
                  no_args_is_help=True)
err = Console(stderr=True)
T = TypeVar("T")

PasswordFile = Annotated[Path | None, typer.Option(
    "--password-file", help="Read the password from the first line of this file (else you are prompted).",
    exists=True, dir_okay=False, readable=True)]
AgencyId = Annotated[str | None, typer.Option("--agency-id", help="The agency's id in the registry.")]
AgencyCode = Annotated[str | None, typer.Option(
    "--agency-code", help="The agency code (Decision 20/2020), e.g. 000.00.00.H29; resolved through the registry.")]
RoleNames = Annotated[list[str] | None, typer.Option("--role", help="Role to grant; repeat for several. "
                                                     "One of: " + ", ".join(ROLES))]


def _container() -> Container:
    container: Container = container_or_exit()
    return container


@contextmanager
def _as_system() -> Iterator[None]:
    """CLI work has no principal: audit events carry channel "cli" and the operating-system user as agent."""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):  # a container may run as a uid without a name
        who = "unknown"
    ctx = RequestContext(request_id=request_id(), channel="cli", user_agent=f"egov-cli ({who})")
    with use_context(ctx):
        yield


def _run(work: Callable[[Session, AccountService], T]) -> T:
    """One transaction; a domain error prints its reasons (Vietnamese, then English) and exits 1."""
    container = _container()
    service = AccountService.from_container(container)
    try:
        with _as_system(), container.db.session() as session:
            return work(session, service)
    except DomainError as exc:
        err.print(f"[red]error:[/red] {exc.detail('vi')} / {exc.detail('en')}")
        for e in exc.errors:
            err.print(f"  {e.field}: {e.message('vi')} / {e.message('en')}")
        raise typer.Exit(1) from None


def _password(path: Path | None) -> str:
    if path is not None:
        lines = path.read_text(encoding="utf-8").splitlines()
        return lines[0] if lines else ""
    value: str = typer.prompt("Mật khẩu / password", hide_input=True, confirmation_prompt=True)
    return value


def _agency(agency_id: str | None, agency_code: str | None) -> str:
    """The agency id to use: given directly, or the agency open today under the code (via the registry)."""
    if agency_id and agency_code:
        err.print("[red]error:[/red] give --agency-id or --agency-code, not both")
        raise typer.Exit(2)
    if agency_id:
        return agency_id
    if agency_code:
        container = _container()
        try:
            with container.db.session() as session:
                return agency_id_for_code(session, agency_code, today_vn(container.clock))
        except DomainError as exc:
            err.print(f"[red]error:[/red] {exc.detail('vi')} / {exc.detail('en')}")
            raise typer.Exit(1) from None
    err.print("[red]error:[/red] give --agency-id or --agency-code (or --global where offered)")
    raise typer.Exit(2)


@app.command("create-officer")
def create_officer(
    username: str,
    name: Annotated[str, typer.Option("--name", help="Display name, e.g. \"Nguyễn Văn An\".")],
    agency_id: AgencyId = None,
    agency_code: AgencyCode = None,
    role: RoleNames = None,
    officer_id: Annotated[str | None, typer.Option("--officer-id", help="The officer's registry record id.")] = None,
    password_file: PasswordFile = None,
) -> None:
    """Create an officer account in an agency, with roles held in that agency."""
    agency = _agency(agency_id, agency_code)
    if agency == GLOBAL:
        err.print("[red]error:[/red] an officer belongs to one agency; grant global roles with `grant --global`")
        raise typer.Exit(2)
    password = _password(password_file)

    def work(session: Session, service: AccountService) -> str:
        account = service.create_account(session, kind=AccountKind.OFFICER, username=username, display_name=name,
                                         password=password, subject_id=officer_id, primary_agency_id=agency)
        for r in role or []:
            service.grant_role(session, account.id, r, agency)
        return account.id

    typer.echo(f"created officer {username} ({_run(work)})")


@app.command("create-admin")
def create_admin(
    username: str,
    name: Annotated[str, typer.Option("--name", help="Display name.")],
    password_file: PasswordFile = None,
) -> None:
    """Create a platform administrator (platform_admin in every agency)."""
    password = _password(password_file)

    def work(session: Session, service: AccountService) -> str:
        account = service.create_account(session, kind=AccountKind.ADMIN, username=username, display_name=name,
                                         password=password)
        service.grant_role(session, account.id, Role.PLATFORM_ADMIN, GLOBAL)
        return account.id

    typer.echo(f"created administrator {username} ({_run(work)})")


@app.command("grant")
def grant(
    username: str,
    role: str,
    agency_id: AgencyId = None,
    agency_code: AgencyCode = None,
    everywhere: Annotated[bool, typer.Option("--global", help="Grant in every agency (\"*\").")] = False,
) -> None:
    """Grant ROLE to USERNAME in one agency (or in every agency with --global)."""
    agency = GLOBAL if everywhere else _agency(agency_id, agency_code)
    _run(lambda s, svc: svc.grant_role(s, svc.by_username(s, username).id, role, agency))
    typer.echo(f"granted {role} in {agency} to {username}")


@app.command("revoke")
def revoke(
    username: str,
    role: str,
    agency_id: AgencyId = None,
    agency_code: AgencyCode = None,
    everywhere: Annotated[bool, typer.Option("--global", help="Revoke the global (\"*\") grant.")] = False,
) -> None:
    """Revoke ROLE from USERNAME in one agency (or the global grant with --global)."""
    agency = GLOBAL if everywhere else _agency(agency_id, agency_code)
    _run(lambda s, svc: svc.revoke_role(s, svc.by_username(s, username).id, role, agency))
    typer.echo(f"revoked {role} in {agency} from {username}")


@app.command("set-password")
def set_password(username: str, password_file: PasswordFile = None) -> None:
    """Set a new password (the old one is not needed); every session of the account is signed out."""
    password = _password(password_file)
    _run(lambda s, svc: svc.set_password(s, svc.by_username(s, username).id, password))
    typer.echo(f"password set for {username}")


@app.command("disable")
def disable(username: str) -> None:
    """Stop an account from signing in and end its sessions."""
    _run(lambda s, svc: svc.disable(s, svc.by_username(s, username).id))
    typer.echo(f"disabled {username}")


@app.command("enable")
def enable(username: str) -> None:
    """Allow a disabled account to sign in again."""
    _run(lambda s, svc: svc.enable(s, svc.by_username(s, username).id))
    typer.echo(f"enabled {username}")


@app.command("list")
def list_accounts(
    kind: Annotated[str | None, typer.Option(help="citizen, organisation, officer or admin.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 200,
) -> None:
    """List accounts with their status and roles; tab-separated when the output is not a terminal."""
    rows = _run(lambda s, svc: svc.list_accounts(s, kind=kind, limit=limit))
    cells = [(a.username, a.kind, a.display_name, a.status, a.primary_agency_id or "",
              ", ".join(f"{r.role}@{r.agency_id}" for r in roles)) for a, roles in rows]
    print_rows(Console(), ("username", "kind", "name", "status", "agency", "roles"), cells)


def print_rows(out: Console, header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> None:
    """A table on a terminal; piped or scripted, whole values as tab-separated lines a script can cut."""
    if not out.is_terminal:
        for row in rows:
            typer.echo("\t".join(row))
        return
    table = Table(*header)
    for row in rows:
        table.add_row(*row)
    out.print(table)
