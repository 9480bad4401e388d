"""Validity limits of Decree 68/2024 Art. 9 are bounds on the settings: a longer value stops start-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from egov.contexts import load_settings
from egov.pki.profiles import POLICY_ARC, PROFILES, Profile
from egov.pki.settings import PkiSettings
from egov.settings import SettingsError


@pytest.mark.parametrize(("name", "too_long"), [
    ("pki_subscriber_validity_days", 5 * 365 + 2),   # new subscriber certificates: at most 5 years
    ("pki_renewal_validity_days", 3 * 365 + 2),      # renewals: at most 3 years
    ("pki_root_validity_days", 20 * 365 + 6),        # CA certificates: at most 20 years
    ("pki_issuing_validity_days", 20 * 365 + 6),
])
def test_validity_beyond_the_decree_is_refused(tmp_path: Path, name: str, too_long: int) -> None:
    field = name.removeprefix("pki_")
    with pytest.raises(SettingsError, match=f"EGOV_PKI__{field.upper()}"):  # the error names the new variable
        load_settings(data_dir=tmp_path, **{name: too_long})  # the old flat keyword still fills the section
    with pytest.raises(SettingsError, match=f"EGOV_PKI__{field.upper()}"):
        load_settings(data_dir=tmp_path, pki={field: too_long})
    settings = load_settings(data_dir=tmp_path, **{name: too_long - 2})
    assert getattr(settings.section(PkiSettings), field) == too_long - 2


def test_profiles_have_distinct_placeholder_policies_and_timestamping_is_critical() -> None:
    oids = {p.policy_oid.dotted_string for p in PROFILES.values()}
    assert len(oids) == len(PROFILES) and all(o.startswith(POLICY_ARC + ".1.") for o in oids)
    assert PROFILES[Profile.TSU].eku_critical and not PROFILES[Profile.TSU].requestable
    assert not PROFILES[Profile.OCSP_SIGNER].requestable
