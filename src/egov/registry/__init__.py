"""Registry: citizens, agencies, enterprises and officers — who is who in the province.

Other contexts read it through `RegistryFacts` (`build_registry_facts()`) and the value helpers
below; its models and services are private to it (import-linter holds them to that).
"""

from egov.registry.audit import RegistryAudit
from egov.registry.identifiers import PersonalIdInfo, decode_personal_id
from egov.registry.interfaces import (
    AgencyFacts,
    CitizenFacts,
    EnterpriseFacts,
    OfficerFacts,
    PositionFacts,
    RegistryFacts,
)
from egov.registry.names import name_key
from egov.registry.permissions import RegistryPermission
from egov.registry.services.citizens import GUARDIAN_AGE_LIMIT
from egov.registry.services.facts import build_registry_facts
from egov.registry.services.values import age_on, mask_email, mask_phone, parse_date

__all__ = [
    "GUARDIAN_AGE_LIMIT",
    "AgencyFacts",
    "CitizenFacts",
    "EnterpriseFacts",
    "OfficerFacts",
    "PersonalIdInfo",
    "PositionFacts",
    "RegistryAudit",
    "RegistryFacts",
    "RegistryPermission",
    "age_on",
    "build_registry_facts",
    "decode_personal_id",
    "mask_email",
    "mask_phone",
    "name_key",
    "parse_date",
]
