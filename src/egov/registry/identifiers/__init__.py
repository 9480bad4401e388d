"""Vietnamese identifiers, one module per noun: provinces, personal ID, agency code, tax code, contact."""

from egov.registry.identifiers._digits import Sex
from egov.registry.identifiers.agency_code import (
    AGENCY_CODE_MAX_LENGTH,
    agency_level,
    expected_parent_code,
    parent_code_rule,
    validate_agency_code,
)
from egov.registry.identifiers.contact import validate_email, validate_phone
from egov.registry.identifiers.personal_id import (
    PERSONAL_ID_LENGTH,
    PersonalIdInfo,
    check_personal_id,
    decode_personal_id,
    make_personal_id,
)
from egov.registry.identifiers.provinces import Province, is_province, province_name, provinces
from egov.registry.identifiers.tax_code import tax_code_parent, validate_tax_code

__all__ = [
    "AGENCY_CODE_MAX_LENGTH", "PERSONAL_ID_LENGTH", "PersonalIdInfo", "Province", "Sex", "agency_level",
    "check_personal_id", "decode_personal_id", "expected_parent_code", "is_province", "make_personal_id",
    "parent_code_rule", "province_name", "provinces", "tax_code_parent", "validate_agency_code", "validate_email",
    "validate_phone", "validate_tax_code",
]
