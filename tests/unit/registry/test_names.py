"""Name cleaning, folding and accent-insensitive word-prefix matching."""

from __future__ import annotations

import unicodedata

import pytest

from egov.platform.errors import FieldError, ValidationFailed
from egov.registry.names import (
    matches,
    name_key,
    name_word_keys,
    normalize_name,
    search_terms,
    word_keys,
)


def name_errors(value: str) -> list[FieldError]:
    with pytest.raises(ValidationFailed) as caught:
        normalize_name(value)
    return caught.value.errors


# --- normalize_name --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("Nguyễn Văn An", "Nguyễn Văn An"),
        ("  Nguyễn   Văn\tAn \n", "Nguyễn Văn An"),
        ("Trần\u00a0Thị Bích", "Trần Thị Bích"),  # no-break space from a web form
        ("H'Hen Niê", "H'Hen Niê"),
        ("H\u2019Hen Niê", "H'Hen Niê"),  # typographic apostrophe stored as ASCII
        ("Y-Moan Ênuôl", "Y-Moan Ênuôl"),
        ("nguyễn văn an", "nguyễn văn an"),  # case kept as typed
    ],
)
def test_normalize_name(typed: str, stored: str) -> None:
    assert normalize_name(typed) == stored


def test_decomposed_input_is_stored_precomposed() -> None:
    decomposed = unicodedata.normalize("NFD", "Nguyễn Văn An")
    assert decomposed != "Nguyễn Văn An"
    stored = normalize_name(decomposed)
    assert stored == "Nguyễn Văn An"
    assert unicodedata.is_normalized("NFC", stored)


@pytest.mark.parametrize("value", ["", "   ", "\t\n"])
def test_empty_name(value: str) -> None:
    [error] = name_errors(value)
    assert (error.field, error.rule) == ("full_name", "full_name.empty")
    assert "không được để trống" in error.message_vi
    assert "must not be empty" in error.message_en


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("Nguyễn Văn An 2", "'2'"),
        ("Nguyễn Văn An２", "'２'"),
        ("An@Nguyen", "'@'"),
        ("Lê_Văn", "'_'"),
        ("Lê.Văn", "'.'"),
        ("Lê\u200bVăn", "'\\u200b'"),  # zero-width space is invisible, so it is shown escaped
        ("Lê, Văn", "','"),
    ],
)
def test_name_characters(value: str, shown: str) -> None:
    [error] = name_errors(value)
    assert (error.field, error.rule) == ("full_name", "full_name.characters")
    assert f"ký tự không hợp lệ: {shown}" in error.message_vi
    assert f"invalid characters: {shown}" in error.message_en


def test_each_bad_character_is_listed_once() -> None:
    [error] = name_errors("An 1 2 1")
    assert error.message_en.endswith("invalid characters: '1', '2'")


@pytest.mark.parametrize("value", ["-", "' -"])
def test_name_needs_a_letter(value: str) -> None:
    [error] = name_errors(value)
    assert error.rule == "full_name.characters"
    assert "ít nhất một chữ cái" in error.message_vi
    assert "at least one letter" in error.message_en


def test_name_length_boundary() -> None:
    assert len(normalize_name("A" * 100)) == 100
    [error] = name_errors("A" * 101)
    assert (error.field, error.rule) == ("full_name", "full_name.length")
    assert "tối đa 100 ký tự (nhận được 101)" in error.message_vi
    assert "at most 100 characters (got 101)" in error.message_en


def test_length_counts_after_collapsing_spaces() -> None:
    assert normalize_name("A" * 50 + " " * 20 + "B" * 49) == "A" * 50 + " " + "B" * 49


def test_characters_and_length_are_reported_together() -> None:
    errors = name_errors("A" * 100 + "1")
    assert [e.rule for e in errors] == ["full_name.characters", "full_name.length"]


def test_custom_field_name() -> None:
    with pytest.raises(ValidationFailed) as caught:
        normalize_name("", field="row 3: full_name")
    assert caught.value.errors[0].field == "row 3: full_name"


# --- keys ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "key"),
    [
        ("Nguyễn Văn An", "nguyen van an"),
        ("Đặng Thị Hoa", "dang thi hoa"),
        ("ĐOÀN  ĐỨC   ĐẠT", "doan duc dat"),
        ("Lưu Ngọc Phượng", "luu ngoc phuong"),
        ("Ưng Hoàng Phúc", "ung hoang phuc"),
        ("H'Hen Niê", "h hen nie"),
        ("Y-Moan Ênuôl", "y moan enuol"),
        ("ｎｇｕｙễｎ", "nguyen"),  # full-width letters typed from an IME
        ("an%_", "an"),  # LIKE wildcards never survive
        ("", ""),
    ],
)
def test_name_key(value: str, key: str) -> None:
    assert name_key(value) == key


def test_name_key_is_the_same_for_composed_and_decomposed_input() -> None:
    assert name_key(unicodedata.normalize("NFD", "Đặng Thị Hoa")) == "dang thi hoa"


def test_search_terms() -> None:
    assert search_terms("  Nguyễn  AN ") == ["nguyen", "an"]
    assert search_terms("an an") == ["an", "an"]
    assert search_terms(" %_ ") == []


def test_word_keys_are_distinct_and_ordered() -> None:
    assert word_keys("Nguyễn Văn An") == ["nguyen", "van", "an"]
    assert word_keys("Lê An An") == ["le", "an"]
    assert word_keys("H'Hen Niê") == ["h", "hen", "nie"]
    assert word_keys("") == []


def test_name_word_keys_has_a_leading_space_before_every_word() -> None:
    column = name_word_keys("Nguyễn Văn An")
    assert column == " nguyen van an"
    # What SQL `LIKE '% an%'` relies on: every word start follows a space.
    assert " an" in column and " van" in column and " uyen" not in column
    assert name_word_keys("") == ""


# --- matches ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("nguyen an", "Nguyễn Văn An"),
        ("dang", "Đặng Thị Hoa"),
        ("Dang", "Đặng Thị Hoa"),
        ("đặng hoa", "Đặng Thị Hoa"),
        ("ng v a", "Nguyễn Văn An"),
        ("an nguyen", "Nguyễn Văn An"),  # order does not matter
        ("NGUYỄN", "Nguyễn Văn An"),
        ("hen", "H'Hen Niê"),
        ("h'hen", "H'Hen Niê"),
        ("an an", "Lê An An"),
    ],
)
def test_matches(query: str, name: str) -> None:
    assert matches(query, name)
    assert matches(query, name, distinct=False)


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("guyen", "Nguyễn Văn An"),  # not at a word start
        ("nguyen binh", "Nguyễn Văn An"),  # every word must match
        ("dangg", "Đặng Thị Hoa"),
        ("hoa dang x", "Đặng Thị Hoa"),
        ("", "Nguyễn Văn An"),  # an empty query lists nobody
        ("%", "Nguyễn Văn An"),
    ],
)
def test_does_not_match(query: str, name: str) -> None:
    assert not matches(query, name)
    assert not matches(query, name, distinct=False)


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("nguyen ng", "Nguyễn Văn An"),
        ("an an", "Lê Văn An"),
        ("n nguyen", "Nguyễn Văn An"),
    ],
)
def test_distinct_matching_needs_one_name_word_per_typed_word(query: str, name: str) -> None:
    assert not matches(query, name)
    assert matches(query, name, distinct=False)  # what per-word SQL EXISTS would return


def test_distinct_matching_finds_an_assignment_greedy_order_would_miss() -> None:
    # "n" first grabbing "nguyen" would leave "nguyen" without a word; the matcher must re-assign.
    assert matches("n nguyen", "Nguyễn Nam")
    assert matches("n nguyen", "Nam Nguyễn")
