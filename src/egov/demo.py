"""`egov demo load`: a believable Hồ Chí Minh City with synthetic people, for trying the platform out.

Only the level-1 code `000.00.00.H29` (the City People's Committee) is a confirmed code; every
lower group below is INVENTED for the demo and says so in its English name. Every person is
synthetic: names are drawn from common Vietnamese names, IDs are valid in form but random.
"""

from __future__ import annotations

import json
import random
from datetime import date, timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy.orm import Session

from egov.auth import AccountService, Role
from egov.bootstrap import Container
from egov.platform.cli import container_or_exit, settings_or_exit
from egov.platform.clock import today_vn
from egov.platform.context import RequestContext, use_context
from egov.platform.permissions import GLOBAL
from egov.registry.identifiers import make_personal_id
from egov.registry.services import (
    SYSTEM_PRINCIPAL,
    CitizenImporter,
    add_position,
    create_agency,
    create_citizen,
    create_enterprise,
    create_officer,
    find_agency_by_code,
    merge,
)

console = Console(stderr=True, soft_wrap=True)
app = typer.Typer(help="Demo data: a believable Hồ Chí Minh City (synthetic people, invented lower agency codes).",
                  no_args_is_help=True)

DEMO_PASSWORD = "egov-demo-2026"
CITY = "000.00.00.H29"
DEMO_MARK = " (demo code)"

# (code, Vietnamese name, English name, opened, closed-into-code or None, closed on)
AGENCIES: list[tuple[str, str, str, date, str | None, date | None]] = [
    ("000.00.01.H29", "Sở Tư pháp", "Department of Justice", date(2020, 9, 15), None, None),
    ("000.00.02.H29", "Sở Nội vụ", "Department of Home Affairs", date(2020, 9, 15), None, None),
    ("000.00.03.H29", "Sở Tài chính", "Department of Finance", date(2020, 9, 15), None, None),
    ("000.00.04.H29", "Sở Khoa học và Công nghệ", "Department of Science and Technology", date(2020, 9, 15),
     None, None),
    ("000.00.05.H29", "Sở Kế hoạch và Đầu tư", "Department of Planning and Investment", date(2020, 9, 15),
     "000.00.03.H29", date(2025, 3, 1)),
    ("000.00.11.H29", "Ủy ban nhân dân Quận 1", "People's Committee of District 1", date(2020, 9, 15),
     "000.00.21.H29", date(2025, 7, 1)),
    ("000.00.12.H29", "Ủy ban nhân dân thành phố Thủ Đức", "People's Committee of Thủ Đức City",
     date(2020, 9, 15), "000.00.24.H29", date(2025, 7, 1)),
    ("000.00.21.H29", "Ủy ban nhân dân phường Sài Gòn", "People's Committee of Sài Gòn Ward", date(2025, 7, 1),
     None, None),
    ("000.00.22.H29", "Ủy ban nhân dân phường Bến Thành", "People's Committee of Bến Thành Ward",
     date(2025, 7, 1), None, None),
    ("000.00.23.H29", "Ủy ban nhân dân phường Tân Định", "People's Committee of Tân Định Ward", date(2025, 7, 1),
     None, None),
    ("000.00.24.H29", "Ủy ban nhân dân phường Thủ Đức", "People's Committee of Thủ Đức Ward", date(2025, 7, 1),
     None, None),
    ("000.01.01.H29", "Phòng Hộ tịch, quốc tịch", "Civil Status Division", date(2020, 9, 15), None, None),
]
WARDS = ["000.00.21.H29", "000.00.22.H29", "000.00.23.H29", "000.00.24.H29"]

SURNAMES = [("Nguyễn", 38), ("Trần", 11), ("Lê", 9.5), ("Phạm", 7), ("Huỳnh", 5), ("Hoàng", 4), ("Phan", 4.5),
            ("Vũ", 3.9), ("Võ", 3.5), ("Đặng", 2.1), ("Bùi", 2), ("Đỗ", 1.4), ("Hồ", 1.3), ("Ngô", 1.3),
            ("Dương", 1), ("Lý", 0.5), ("Trương", 1), ("Đinh", 0.7), ("Mai", 0.5), ("Lâm", 0.6)]
MIDDLE = {"male": ["Văn", "Hữu", "Đức", "Minh", "Quốc", "Thành", "Công", "Gia"],
          "female": ["Thị", "Ngọc", "Thu", "Thanh", "Mỹ", "Bảo", "Kim", "Phương"]}
GIVEN = {"male": ["An", "Bình", "Cường", "Dũng", "Hùng", "Huy", "Khoa", "Long", "Nam", "Phúc", "Quang", "Sơn",
                  "Tài", "Thắng", "Trung", "Tuấn", "Việt", "Vinh", "Hiếu", "Đạt", "Khang", "Lộc"],
         "female": ["Anh", "Chi", "Diệp", "Dung", "Giang", "Hà", "Hạnh", "Hoa", "Hương", "Lan", "Linh", "Mai",
                    "Nga", "Ngân", "Nhung", "Oanh", "Phượng", "Quyên", "Thảo", "Trang", "Vy", "Yến"]}
PROVINCES = [("079", 70), ("001", 5), ("048", 3), ("092", 3), ("075", 3), ("074", 3), ("080", 3), ("052", 2),
             ("054", 2), ("096", 2), ("038", 2), ("040", 2)]


def _weighted(rng: random.Random, items: list[tuple[str, float]]) -> str:
    return rng.choices([i for i, _ in items], weights=[w for _, w in items])[0]


def synthetic_people(count: int, today: date, seed: int = 2026) -> list[dict[str, str]]:
    """`count` citizens with valid, unique IDs; about 15 % are children with an adult guardian."""
    rng = random.Random(seed)
    used: set[str] = set()
    adults: list[str] = []
    rows: list[dict[str, str]] = []
    while len(rows) < count:
        sex = rng.choice(["male", "female"])
        child = len(adults) > 20 and rng.random() < 0.15
        age_days = rng.randint(1, 13 * 365) if child else rng.randint(18 * 365 + 30, 85 * 365)
        birth = today - timedelta(days=age_days)
        province = _weighted(rng, [(p, float(w)) for p, w in PROVINCES])
        pid = make_personal_id(province, birth, sex, rng.randint(0, 999_999))  # type: ignore[arg-type]
        if pid in used:
            continue
        used.add(pid)
        name = f"{_weighted(rng, SURNAMES)} {rng.choice(MIDDLE[sex])} {rng.choice(GIVEN[sex])}"
        row = {
            "personal_id": pid,
            "full_name": name,
            "birth_date": birth.strftime("%d/%m/%Y"),
            "sex": sex,
            "phone": f"09{rng.randint(0, 99_999_999):08d}",
            "email": f"congdan{len(rows) + 1}@example.vn" if rng.random() < 0.6 else "",
            "managing_agency_code": rng.choice(WARDS),
            "guardian_personal_id": rng.choice(adults) if child else "",
        }
        if not child:
            adults.append(pid)
        rows.append(row)
    return rows


def _agencies(session: Session, container: Container) -> None:
    clock = container.clock
    create_agency(session, clock, code=CITY, name_vi="Ủy ban nhân dân Thành phố Hồ Chí Minh",
                  name_en="People's Committee of Hồ Chí Minh City", opened_on=date(2020, 9, 15), by=SYSTEM_PRINCIPAL)
    for code, vi, en, opened, _into, _closed in AGENCIES:
        create_agency(session, clock, code=code, name_vi=vi, name_en=en + DEMO_MARK, opened_on=opened,
                      by=SYSTEM_PRINCIPAL)
    for code, _vi, _en, _opened, into, closed in AGENCIES:
        if into and closed:
            merge(session, clock, [code], into=into, on=closed, by=SYSTEM_PRINCIPAL)


# (username, kind, display name, personal id seed, agency code, title, roles at that agency / "*")
STAFF = [
    ("admin", "admin", "Quản trị hệ thống", "Trần Minh Quân", "000.00.02.H29", "Quản trị hệ thống",
     [(Role.PLATFORM_ADMIN, GLOBAL)]),
    ("canbo.thanhpho", "officer", "Lê Thị Thu Hà", "Lê Thị Thu Hà", CITY, "Chuyên viên Văn phòng UBND Thành phố",
     [(Role.REGISTRY_EDITOR, CITY), (Role.REGISTRY_EXPORTER, CITY), (Role.DOCUMENT_SIGNER, CITY),
      (Role.SEAL_KEEPER, CITY)]),
    ("canbo.benthanh", "officer", "Phạm Văn Hùng", "Phạm Văn Hùng", "000.00.22.H29", "Công chức Tư pháp – Hộ tịch",
     [(Role.REGISTRY_CLERK, "000.00.22.H29"), (Role.IDENTITY_VERIFIER, "000.00.22.H29")]),
    ("kiemtoan", "officer", "Đỗ Ngọc Lan", "Đỗ Ngọc Lan", "000.00.02.H29", "Thanh tra viên",
     [(Role.AUDITOR, GLOBAL)]),
]


def load(container: Container, citizens: int = 10_000, seed: int = 2026) -> list[tuple[str, str, str]]:
    """Load the demo province in one transaction; returns (username, password, what it can do)."""
    if container.settings.is_production:
        raise RuntimeError("demo data is refused in production (EGOV_ENVIRONMENT=production)")
    today = today_vn(container.clock)
    accounts = AccountService.from_container(container)
    out: list[tuple[str, str, str]] = []
    signer: tuple[str, str, str, str, str] | None = None
    with use_context(RequestContext(request_id="demo-load", channel="cli")), container.db.session() as session:
        if find_agency_by_code(session, CITY) is not None:
            raise RuntimeError("demo data is already loaded (agency 000.00.00.H29 exists)")
        _agencies(session, container)
        people = synthetic_people(citizens, today, seed)
        columns = (TextColumn("[bold]công dân / citizens"), BarColumn(),
                   TextColumn("{task.completed:,}/{task.total:,}"), TimeRemainingColumn())
        with Progress(*columns, console=console, transient=True) as bar:
            task = bar.add_task("citizens", total=len(people))
            report = CitizenImporter(session, container.clock, by=SYSTEM_PRINCIPAL).import_rows(
                people, progress=lambda done: bar.update(task, completed=done))
        if not report.ok:
            raise RuntimeError(f"demo citizens did not import: {report.errors[:3] or report.file_error}")
        rng = random.Random(seed + 1)
        adults = [p for p in people if not p["guardian_personal_id"]]
        for i in range(40):
            rep = adults[(i * 7) % len(adults)]
            trade = ["Thương mại", "Xây dựng", "Công nghệ", "Dịch vụ"][i % 4]
            create_enterprise(session, container.clock, tax_code=f"03{rng.randint(0, 99_999_999):08d}",
                              name=f"Công ty TNHH {rep['full_name'].split()[-1]} {trade} {i + 1}",
                              legal_representative_personal_id=rep["personal_id"],
                              managing_agency_code="000.00.03.H29", by=SYSTEM_PRINCIPAL)
        for n, (username, kind, display, person_name, agency_code, title, roles) in enumerate(STAFF):
            sex = "female" if " Thị " in f" {person_name} " or person_name.split()[-1] in GIVEN["female"] else "male"
            birth = date(1980 + n, 3 + n, 10 + n)
            pid = make_personal_id("079", birth, sex, 900_000 + n)  # type: ignore[arg-type]
            citizen = create_citizen(session, container.clock, personal_id=pid, full_name=person_name,
                                     birth_date=birth, sex=sex, managing_agency_code="000.00.21.H29",
                                     phone=f"0908{n:06d}", email=f"{username}@hochiminhcity.gov.example",
                                     by=SYSTEM_PRINCIPAL)
            agency = find_agency_by_code(session, agency_code)
            assert agency is not None
            officer = create_officer(session, container.clock, citizen_id=citizen.id, by=SYSTEM_PRINCIPAL)
            position = add_position(session, container.clock, officer_id=officer.id, agency_id=agency.id,
                                    title=title, starts_on=date(2025, 7, 1), by=SYSTEM_PRINCIPAL)
            account = accounts.create_account(session, kind=kind, username=username, display_name=display,
                                              password=DEMO_PASSWORD, subject_id=officer.id,
                                              primary_agency_id=agency.id)
            for role, where in roles:
                target = where if where == GLOBAL else find_agency_by_code(session, where)
                agency_id = target if isinstance(target, str) else target.id  # type: ignore[union-attr]
                accounts.grant_role(session, account.id, str(role), agency_id)
            out.append((username, DEMO_PASSWORD, ", ".join(f"{r} @ {w}" for r, w in roles)))
            if username == SIGNING_OFFICER:
                signer = (account.id, position.id, person_name, title, agency.name_vi)
        assert signer is not None
        _pki_and_signing(session, container, signer)
        citizen_row = adults[0]
        accounts.create_account(session, kind="citizen", username=citizen_row["personal_id"],
                                display_name=citizen_row["full_name"], password=DEMO_PASSWORD)
        out.append((citizen_row["personal_id"], DEMO_PASSWORD, f"công dân {citizen_row['full_name']}"))
    return out


SIGNING_OFFICER = "canbo.thanhpho"


def _pki_and_signing(session: Session, container: Container, officer: tuple[str, str, str, str, str]) -> None:
    """The CA hierarchy (a root ceremony whose two shares are written beside the data: demo only), a
    signing certificate for one officer and the City's seal, so signing and verifying work at once."""
    from egov import pki
    from egov.platform.keys import KeyAlgorithm
    from egov.signing import SigningService, certification_request, ensure_remote_key

    ca = pki.ca_service(container)
    _root, share_a, share_b = ca.init_root(session)
    for issuer in ("specialised", "public"):
        ca.certify_issuing_ca(session, issuer, share_a, share_b)
    shares = container.settings.data_dir / "pki-root-shares.txt"
    shares.write_text("DEMO ONLY: in production each custodian keeps one share, never together, never on disk.\n"
                      f"share A: {share_a}\nshare B: {share_b}\n", encoding="utf-8")
    shares.chmod(0o600)
    signing = SigningService.from_container(container)
    account_id, position_id, name, title, agency_name = officer
    key = ensure_remote_key(container.keys, account_id)
    issued = pki.issue_certificate(container, session, profile="officer_signing", subject_ref=position_id,
                                   csr=certification_request(container.keys, key, common_name=name))
    signing.register_identity(session, holder=f"account:{account_id}", key_name=key, certificate_der=issued.cert_der,
                              chain_der=issued.chain_der, display_name=name, position=title, agency_name=agency_name)
    city = find_agency_by_code(session, CITY)
    assert city is not None
    seal_key = f"seal-{city.id}"
    container.keys.create(seal_key, KeyAlgorithm.ECDSA_P256)
    seal = pki.issue_certificate(container, session, profile="agency_seal", subject_ref=CITY,
                                 csr=certification_request(container.keys, seal_key, common_name=city.name_vi))
    signing.register_identity(session, holder=f"agency:{city.id}", key_name=seal_key, certificate_der=seal.cert_der,
                              chain_der=seal.chain_der, display_name=city.name_vi, agency_name=city.name_vi)


@app.command("load")
def load_command(
    citizens: Annotated[int, typer.Option(min=50, max=2_000_000, help="How many synthetic citizens.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same people.")] = 2026,
) -> None:
    """Load the demo province once: agencies (with the 2025 mergers), citizens, enterprises, officers."""
    container = container_or_exit()
    try:
        accounts = load(container, citizens=citizens, seed=seed)
    except RuntimeError as exc:
        console.print(f"[yellow]{exc}[/yellow]")
        raise typer.Exit(0 if "already loaded" in str(exc) else 1) from None
    (container.settings.data_dir / ACCOUNTS_FILE).write_text(
        json.dumps([[username, can] for username, _password, can in accounts], ensure_ascii=False, indent=1),
        encoding="utf-8")
    _print_accounts(accounts)


ACCOUNTS_FILE = "demo-accounts.json"


def _print_accounts(accounts: list[tuple[str, str, str]]) -> None:
    table = Table("tài khoản / username", "mật khẩu / password", "quyền / can", title="Tài khoản trình diễn")
    for row in accounts:
        table.add_row(*row)
    Console().print(table)


@app.command("accounts")
def accounts_command() -> None:
    """Show the demo accounts and their password again (`make run` does, each time it starts)."""
    settings = settings_or_exit()
    saved = settings.data_dir / ACCOUNTS_FILE
    if saved.exists():
        rows = [(username, DEMO_PASSWORD, can) for username, can in json.loads(saved.read_text(encoding="utf-8"))]
    else:  # loaded before the list was saved: the staff accounts are always the same
        rows = [(username, DEMO_PASSWORD, ", ".join(f"{r} @ {w}" for r, w in roles))
                for username, _kind, _display, _person, _code, _title, roles in STAFF]
        console.print(f"[yellow]{saved} is missing: the demo citizen's account is not listed "
                      "(run `egov demo load` on a fresh data directory to see it)[/yellow]")
    _print_accounts(rows)
