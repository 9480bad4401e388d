"""Deterministic synthetic citizens (valid 12-digit IDs, Vietnamese names) and realistic name-search queries."""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import NamedTuple

from egov.registry.identifiers import make_personal_id, provinces
from egov.registry.names import name_key

# Surname shares roughly as published for Vietnam (Nguyễn ~38 %, Trần ~11 %, Lê ~9.5 %, Phạm ~7 %, …);
# the tail is lumped into a few rarer names so that single-surname queries range from huge to small.
SURNAMES: list[tuple[str, float]] = [
    ("Nguyễn", 38), ("Trần", 11), ("Lê", 9.5), ("Phạm", 7), ("Hoàng", 4.1), ("Huỳnh", 4.1), ("Phan", 4.5),
    ("Vũ", 3.9), ("Võ", 3), ("Đặng", 2.1), ("Bùi", 2), ("Đỗ", 1.4), ("Hồ", 1.3), ("Ngô", 1.3),
    ("Dương", 1), ("Lý", 0.5), ("Đinh", 0.6), ("Trương", 0.6), ("Lâm", 0.4), ("Mai", 0.4), ("Đào", 0.4),
    ("Cao", 0.3), ("Lương", 0.3), ("Tạ", 0.2), ("Hà", 0.3), ("Tôn", 0.1), ("Quách", 0.1), ("Châu", 0.1),
]
# Văn / Thị dominate (older generations); younger people more often carry other middle names.
MIDDLE_M: list[tuple[str, float]] = [
    ("Văn", 45), ("Hữu", 6), ("Đức", 7), ("Minh", 8), ("Quốc", 5), ("Thanh", 4), ("Công", 4), ("Xuân", 3),
    ("Hoàng", 3), ("Gia", 3), ("Bảo", 3), ("Đình", 4), ("Anh", 3), ("Tuấn", 2),
]
MIDDLE_F: list[tuple[str, float]] = [
    ("Thị", 55), ("Ngọc", 9), ("Thu", 5), ("Thanh", 5), ("Kim", 4), ("Minh", 4), ("Hoài", 2), ("Phương", 3),
    ("Mỹ", 3), ("Bảo", 3), ("Diệu", 2), ("Khánh", 3), ("Thùy", 2),
]
GIVEN_M = ["An", "Anh", "Bình", "Cường", "Dũng", "Duy", "Đạt", "Đông", "Giang", "Hải", "Hiếu", "Hoàng", "Hùng",
           "Huy", "Khang", "Khoa", "Khánh", "Kiên", "Lâm", "Long", "Lộc", "Minh", "Nam", "Nghĩa", "Phát", "Phong",
           "Phúc", "Quân", "Quang", "Sơn", "Tài", "Tâm", "Thắng", "Thành", "Thịnh", "Toàn", "Trí", "Trung", "Tú",
           "Tuấn", "Việt", "Vinh", "Vũ", "Ân", "Bảo", "Hưng", "Lực", "Nhân", "Tiến", "Trọng"]
GIVEN_F = ["An", "Anh", "Ánh", "Bích", "Châu", "Chi", "Diệp", "Dung", "Duyên", "Giang", "Hà", "Hạnh", "Hằng",
           "Hiền", "Hoa", "Huệ", "Hương", "Hường", "Lan", "Liên", "Linh", "Loan", "Mai", "My", "Nga", "Ngân",
           "Ngọc", "Nhi", "Nhung", "Oanh", "Phương", "Quyên", "Quỳnh", "Tâm", "Thảo", "Thơ", "Thu", "Thủy",
           "Trang", "Trâm", "Uyên", "Vân", "Vy", "Xuân", "Yến", "Hồng", "Lụa", "Tuyết"]
STREETS = ["Lê Lợi", "Trần Hưng Đạo", "Nguyễn Huệ", "Hai Bà Trưng", "Lý Thường Kiệt", "Điện Biên Phủ",
           "Cách Mạng Tháng Tám", "Phan Đình Phùng", "Hoàng Diệu", "Nguyễn Trãi", "Võ Văn Tần", "Bà Triệu",
           "Quang Trung", "Lê Duẩn", "Nguyễn Du", "Hùng Vương", "Trường Chinh", "Lạc Long Quân"]
WARDS = ["phường Bến Thành", "phường 5", "phường Tân Định", "xã Phú Xuân", "phường Hàng Bài", "phường 12",
         "xã Đông Thạnh", "phường Cầu Kho", "phường Thạc Gián", "xã Hòa Phước", "phường Vĩnh Ninh"]

# The province's People's Committee (a confirmed level-1 code) and 24 district-level units under it.
# The lower groups (000.00.01.H29 …) are INVENTED for the benchmark, like the demo data's.
PROVINCE_AGENCY = ("000.00.00.H29", "Ủy ban nhân dân Thành phố Hồ Chí Minh")
DISTRICT_AGENCIES = [(f"000.00.{i:02d}.H29", f"Ủy ban nhân dân đơn vị hành chính số {i} (giả lập)")
                     for i in range(1, 25)]

SEED = 20261125
_D0 = date(1935, 1, 1).toordinal()
_D1 = date(2024, 12, 31).toordinal()


class Citizen(NamedTuple):
    personal_id: str
    full_name: str
    birth_date: date
    sex: str  # "male" | "female"
    province_code: str
    address: str
    managing_agency_code: str


def _pick(rnd: random.Random, pairs: Sequence[tuple[str, float]]) -> str:
    return rnd.choices([p for p, _ in pairs], [w for _, w in pairs])[0]


def generate(n: int, seed: int = SEED) -> Iterator[Citizen]:
    """`n` citizens, always the same ones for a seed; IDs unique and structurally valid.

    Province weights favour the big cities (Hồ Chí Minh 079, Hà Nội 001) as a provincial registry
    would; about 12 % of names have four words ("Nguyễn Thị Ngọc Anh").
    """
    rnd = random.Random(seed)
    codes = [p.code for p in provinces()]
    weights = [12.0 if c == "079" else 8.0 if c == "001" else 1.0 for c in codes]
    seen: set[str] = set()
    for _ in range(n):
        sex = "male" if rnd.random() < 0.5 else "female"
        born = date.fromordinal(rnd.randint(_D0, _D1))
        prov = rnd.choices(codes, weights)[0]
        while True:
            pid = make_personal_id(prov, born, sex, rnd.randrange(1_000_000))  # type: ignore[arg-type]
            if pid not in seen:
                seen.add(pid)
                break
        male = sex == "male"
        words = [_pick(rnd, SURNAMES), _pick(rnd, MIDDLE_M if male else MIDDLE_F)]
        if rnd.random() < 0.12:
            words.append(_pick(rnd, MIDDLE_F if not male else MIDDLE_M))
            if words[-1] == words[-2]:
                words.pop()
        words.append(rnd.choice(GIVEN_M if male else GIVEN_F))
        addr = f"Số {rnd.randint(1, 399)} đường {rnd.choice(STREETS)}, {rnd.choice(WARDS)}"
        agency = DISTRICT_AGENCIES[rnd.randrange(len(DISTRICT_AGENCIES))][0]
        yield Citizen(pid, " ".join(words), born, sex, prov, addr, agency)


def write_csv(path: Path, citizens: Iterator[Citizen] | Sequence[Citizen], header: Sequence[str],
              fields: Sequence[str] | None = None) -> int:
    """Write a CSV with `header`; `fields` names the Citizen attribute for each column (default: same)."""
    fields = fields or header
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        for c in citizens:
            w.writerow([getattr(c, a).isoformat() if a == "birth_date" else getattr(c, a) for a in fields])
            n += 1
    return n


def name_queries(n: int, seed: int = 7) -> list[str]:
    """`n` queries as an officer at a one-stop desk types them (deterministic).

    Mix: 35 % surname + middle + start of the given name ("nguyen van a", "tran thi h"), 20 % surname +
    middle ("le van"), 15 % a full name, 10 % a single surname ("pham"), 10 % surname + given name
    ("nguyen hung"), 10 % the same typed with diacritics ("Nguyễn Văn A"). Surnames follow the
    population weights, so many queries hit the 38 % Nguyễn.
    """
    rnd = random.Random(seed)
    out: list[str] = []
    for _ in range(n):
        male = rnd.random() < 0.5
        sur = _pick(rnd, SURNAMES)
        mid = _pick(rnd, MIDDLE_M if male else MIDDLE_F)
        given = rnd.choice(GIVEN_M if male else GIVEN_F)
        r = rnd.random()
        if r < 0.35:
            g = name_key(given)
            q = f"{name_key(sur)} {name_key(mid)} {g[:rnd.randint(1, min(2, len(g)))]}"
        elif r < 0.55:
            q = f"{name_key(sur)} {name_key(mid)}"
        elif r < 0.70:
            q = name_key(f"{sur} {mid} {given}")
        elif r < 0.80:
            q = name_key(sur)
        elif r < 0.90:
            q = name_key(f"{sur} {given}")
        else:
            q = f"{sur} {mid} {given[:1]}"
        out.append(q)
    out[0] = "nguyen van a"
    return out
