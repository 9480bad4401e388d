"""Certificate profiles: key usage, extended key usage, policy OID, validity and which CA issues each."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, ObjectIdentifier

# PLACEHOLDER policy OIDs. 2.25.<uuid> is the UUID arc (ITU-T X.667 / RFC 4122 section 4.5): anyone
# may mint an OID under it from a fresh random UUID without registering, so these collide with
# nobody, but they are ours alone and mean nothing to other relying parties. A real deployment
# replaces them with OIDs assigned by the Government Cipher Committee (Ban Cơ yếu Chính phủ) /
# NEAC in the CP/CPS. docs/pki.md says the same.
POLICY_ARC = "2.25.236823112741214189399045292838000828605"

# RFC 9336 id-kp-documentSigning; cryptography has no constant for it.
DOCUMENT_SIGNING = ObjectIdentifier("1.3.6.1.5.5.7.3.36")
# organizationIdentifier (X.520 2.5.4.97): carries the agency code (Decision 20/2020) in seal certificates.
ORGANIZATION_IDENTIFIER = ObjectIdentifier("2.5.4.97")


class Profile(StrEnum):
    AGENCY_SEAL = "agency_seal"
    OFFICER_SIGNING = "officer_signing"
    CITIZEN_SIGNING = "citizen_signing"
    TLS_SERVER = "tls_server"
    TLS_CLIENT = "tls_client"
    OCSP_SIGNER = "ocsp_signer"
    TSU = "tsu"


class Issuer(StrEnum):
    SPECIALISED = "specialised"  # chuyên dùng: agencies, officers, the document axis, our own services
    PUBLIC = "public"  # công cộng: citizens and enterprises


@dataclass(frozen=True)
class ProfileSpec:
    profile: Profile
    issuer: Issuer
    key_usage: frozenset[str]
    eku: tuple[ObjectIdentifier, ...]
    eku_critical: bool
    policy_suffix: str
    validity_setting: str  # the PkiSettings field giving the days
    subject_kind: str  # what subject_ref names: position | agency | citizen | host | service
    label_vi: str
    label_en: str
    requestable: bool = True  # OCSP and TSU certificates are made by the platform for itself

    @property
    def policy_oid(self) -> ObjectIdentifier:
        return ObjectIdentifier(f"{POLICY_ARC}.1.{self.policy_suffix}")


PROFILES: dict[Profile, ProfileSpec] = {
    p.profile: p
    for p in (
        ProfileSpec(Profile.AGENCY_SEAL, Issuer.SPECIALISED, frozenset({"digital_signature", "content_commitment"}),
                    (DOCUMENT_SIGNING, ExtendedKeyUsageOID.EMAIL_PROTECTION), False, "1",
                    "subscriber_validity_days", "agency", "Con dấu số của cơ quan", "Agency seal"),
        ProfileSpec(Profile.OFFICER_SIGNING, Issuer.SPECIALISED,
                    frozenset({"digital_signature", "content_commitment"}),
                    (DOCUMENT_SIGNING, ExtendedKeyUsageOID.EMAIL_PROTECTION), False, "2",
                    "subscriber_validity_days", "position", "Chữ ký số cán bộ", "Officer signing"),
        ProfileSpec(Profile.CITIZEN_SIGNING, Issuer.PUBLIC, frozenset({"digital_signature", "content_commitment"}),
                    (DOCUMENT_SIGNING, ExtendedKeyUsageOID.EMAIL_PROTECTION), False, "3",
                    "subscriber_validity_days", "citizen", "Chữ ký số công dân", "Citizen signing"),
        ProfileSpec(Profile.TLS_SERVER, Issuer.SPECIALISED, frozenset({"digital_signature"}),
                    (ExtendedKeyUsageOID.SERVER_AUTH,), False, "4", "tls_validity_days", "host",
                    "Máy chủ TLS", "TLS server"),
        ProfileSpec(Profile.TLS_CLIENT, Issuer.SPECIALISED, frozenset({"digital_signature"}),
                    (ExtendedKeyUsageOID.CLIENT_AUTH,), False, "5", "tls_validity_days", "agency",
                    "Máy khách TLS (trục liên thông)", "TLS client (document axis)"),
        ProfileSpec(Profile.OCSP_SIGNER, Issuer.SPECIALISED, frozenset({"digital_signature"}),
                    (ExtendedKeyUsageOID.OCSP_SIGNING,), False, "6", "ocsp_validity_days", "service",
                    "Ký trả lời OCSP", "OCSP signer", requestable=False),
        ProfileSpec(Profile.TSU, Issuer.SPECIALISED, frozenset({"digital_signature", "content_commitment"}),
                    (ExtendedKeyUsageOID.TIME_STAMPING,), True, "7", "tsu_validity_days", "service",
                    "Dấu thời gian (TSU)", "Time-stamping unit", requestable=False),
    )
}


def key_usage(names: frozenset[str], *, rsa: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature="digital_signature" in names,
        content_commitment="content_commitment" in names,
        key_encipherment=rsa and "digital_signature" in names and "content_commitment" not in names,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


CA_KEY_USAGE = x509.KeyUsage(
    digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
    key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False,
)
CA_POLICY = ObjectIdentifier(f"{POLICY_ARC}.1.0")  # the CA certificates' own policy (anyPolicy is not used)
