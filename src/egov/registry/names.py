"""Personal names: clean them for storage, fold them for accent-insensitive prefix search."""

from __future__ import annotations

import unicodedata

from egov.platform.errors import ErrorCollector

FULL_NAME_MAX_LENGTH = 100
# Typographic apostrophes (’ ʼ) are stored as ASCII so the same name typed on two keyboards is equal.
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u02bc": "'"})
_ALLOWED_PUNCTUATION = frozenset(" -'")


def normalize_name(value: str, *, field: str = "full_name") -> str:
    """Return the name as it will be stored: NFC, trimmed, single spaces; diacritics kept as typed.

    NFC because the same "Nguyễn" arrives precomposed from one keyboard and decomposed from another,
    and equal names must be equal strings. Letters of any script are accepted, plus space, hyphen and
    apostrophe (ethnic-minority names such as "H'Hen Niê" or "Y-Moan"); digits, other symbols and
    invisible characters (zero-width space…) are refused and named in the message. Case is not
    changed: a clerk's capitalisation is not ours to guess.
    """
    name = " ".join(unicodedata.normalize("NFC", value).translate(_APOSTROPHES).split())
    errors = ErrorCollector()
    if not name:
        errors.add(
            field, "full_name.empty", "Họ và tên không được để trống", "The full name must not be empty"
        )
        errors.raise_if_any()
    bad = list(
        dict.fromkeys(
            ch
            for ch in name
            if not (ch.isalpha() or unicodedata.category(ch).startswith("M") or ch in _ALLOWED_PUNCTUATION)
        )
    )
    if bad:
        shown = ", ".join(repr(ch) for ch in bad)
        errors.add(
            field,
            "full_name.characters",
            f"Họ và tên chỉ được gồm chữ cái, dấu cách, dấu gạch nối và dấu nháy đơn; ký tự không hợp lệ: {shown}",
            f"The full name may contain only letters, spaces, hyphens and apostrophes; invalid characters: {shown}",
        )
    elif not any(ch.isalpha() for ch in name):
        errors.add(
            field,
            "full_name.characters",
            "Họ và tên phải có ít nhất một chữ cái",
            "The full name must contain at least one letter",
        )
    if len(name) > FULL_NAME_MAX_LENGTH:
        errors.add(
            field,
            "full_name.length",
            f"Họ và tên dài tối đa {FULL_NAME_MAX_LENGTH} ký tự (nhận được {len(name)})",
            f"The full name has at most {FULL_NAME_MAX_LENGTH} characters (got {len(name)})",
        )
    errors.raise_if_any()
    return name


def name_key(value: str) -> str:
    """Fold text for comparison: "Đặng Thị Hoa" → "dang thi hoa"; never raises, so queries can use it.

    Steps: NFKD (NFD plus compatibility forms, so full-width "ｎｇｕｙｅｎ" folds too), drop combining
    marks (tones, circumflex, breve, horn), map đ/Đ to d (đ is a letter of its own, not d plus a mark,
    so decomposition leaves it alone), case-fold, turn every character that is not a letter or digit
    (hyphen, apostrophe, %, _ …) into a space, collapse spaces. "H'Hen" therefore keys as "h hen", so
    typing either "hen" or "h'hen" finds her, and a key never contains an SQL LIKE wildcard.
    """
    decomposed = unicodedata.normalize("NFKD", value)
    bare = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    folded = bare.replace("đ", "d").replace("Đ", "d").casefold()
    spaced = "".join(ch if ch.isalnum() else " " for ch in folded)
    # Recompose what remains (e.g. Hangul split into jamo by NFKD) so keys stay short and comparable.
    return " ".join(unicodedata.normalize("NFC", spaced).split())


def search_terms(query: str) -> list[str]:
    """The typed words, keyed like names, in typed order (duplicates kept: see `matches`)."""
    return name_key(query).split()


def _distinct_match(terms: list[str], words: list[str]) -> bool:
    """Can every term be given its own name word that starts with it? (bipartite matching, Kuhn)."""
    owner: list[int | None] = [None] * len(words)  # words[j] is used by terms[owner[j]]

    def assign(term_index: int, seen: set[int]) -> bool:
        for j, word in enumerate(words):
            if j in seen or not word.startswith(terms[term_index]):
                continue
            seen.add(j)
            current = owner[j]
            if current is None or assign(current, seen):
                owner[j] = term_index
                return True
        return False

    return all(assign(i, set()) for i in range(len(terms)))


def matches(query: str, full_name: str, *, distinct: bool = True) -> bool:
    """True if every typed word is the start of a word of the name, ignoring accents and case.

    "nguyen an" and "dang" find "Nguyễn Văn An" and "Đặng Thị Hoa"; "guyen" finds nothing, because
    matching is anchored at word starts (what people type, and what a btree prefix index can serve).
    With `distinct` (the default) each typed word needs its own name word: "nguyen ng" does not find
    "Nguyễn Văn An", and "an an" finds "Lê An An" but not "Lê Văn An". The SQL plan in
    `name_word_keys` checks each word on its own, which is `distinct=False`; the two differ only when
    typed words share a prefix, so the database result is a rarely larger superset that a caller may
    narrow with this function. An empty query matches nobody: listing every citizen is not a search.
    """
    terms = search_terms(query)
    if not terms:
        return False
    words = name_key(full_name).split()
    if not distinct:
        return all(any(word.startswith(term) for word in words) for term in terms)
    return len(terms) <= len(words) and _distinct_match(terms, words)


def word_keys(full_name: str) -> list[str]:
    """The distinct keyed words of a name, in order: the rows of the `(word_key, citizen_id)` table."""
    return list(dict.fromkeys(name_key(full_name).split()))


def name_word_keys(full_name: str) -> str:
    """A search-column value: every keyed word, space-separated, with a leading space ("" for no words).

    The leading space makes every word start follow a space, so ``name_words LIKE '% an%'`` finds
    names with a word starting "an" (a fallback that needs no extra table, but a scan: a leading
    wildcard cannot use a btree).

    The indexed plan for the registry tables:

    - ``citizen.name_key`` = ``name_key(full_name)``, btree with ``text_pattern_ops`` on PostgreSQL,
      serving ``name_key LIKE 'nguyen v%'`` (a prefix of the whole name, i.e. of the first words);
    - a child table ``citizen_name_word(word_key, citizen_id)``, one row per ``word_keys(full_name)``,
      btree on ``(word_key text_pattern_ops, citizen_id)``. Each of ``search_terms(query)`` becomes
      ``word_key LIKE 'an%'`` and the citizen must match every term: one ``EXISTS`` (or an
      ``INTERSECT`` of citizen ids) per term, which is `matches(..., distinct=False)`.

    Keys contain only letters, digits and single spaces, so they can be put into a LIKE pattern
    without escaping. On SQLite, LIKE uses an index only with ``case_sensitive_like`` or a NOCASE
    column; since keys are already lower-case either works, or the prefix can be written as a range.
    """
    key = name_key(full_name)
    return f" {key}" if key else ""
