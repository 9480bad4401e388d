"""Validity limits of Decree 68/2024 Art. 9 are bounds on the settings: a longer value stops start-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from egov.pki.profiles import POLICY_ARC, PROFILES, Profile
from egov.settings import SettingsError, load_settings


@pytest.mark.parametrize(("name", "too_long"), [
    ("pki_subscriber_validity_days", 5 * 365 + 2),   # new subscriber certificates: at most 5 years
    ("pki_renewal_validity_days", 3 * 365 + 2),      # renewals: at most 3 years
    ("pki_root_validity_days", 20 * 365 + 6),        # CA certificates: at most 20 years
    ("pki_issuing_validity_days", 20 * 365 + 6),
])
def test_validity_beyond_the_decree_is_refused(tmp_path: Path, name: str, too_long: int) -> None:
    with pytest.raises(SettingsError, match=f"EGOV_{name.upper()}"):
        load_settings(data_dir=tmp_path, **{name: too_long})
    assert getattr(load_settings(data_dir=tmp_path, **{name: too_long - 2}), name) == too_long - 2


def test_profiles_have_distinct_placeholder_policies_and_timestamping_is_critical() -> None:
    oids = {p.policy_oid.dotted_string for p in PROFILES.values()}
    assert len(oids) == len(PROFILES) and all(o.startswith(POLICY_ARC + ".1.") for o in oids)
    assert PROFILES[Profile.TSU].eku_critical and not PROFILES[Profile.TSU].requestable
    assert not PROFILES[Profile.OCSP_SIGNER].requestable
