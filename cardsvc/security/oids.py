"""Object identifiers of this project, under a UUID-derived arc (ITU-T X.667: 2.25.<uuid> needs no
registration, and the holder of the UUID may allocate sub-arcs)."""

from __future__ import annotations

from cryptography.x509.oid import ObjectIdentifier

ARC = "2.25.266810868349307341628450219604022405561"

# Extended key usages (RFC 5280 §4.2.1.12) that tell our two signer roles apart.
KP_DOCUMENT_SIGNER = ObjectIdentifier(ARC + ".1")
KP_ENDORSEMENT_SIGNER = ObjectIdentifier(ARC + ".2")
# eContentType of EF.SOD's SignedData (RFC 5652 §5.2): our security object, like ICAO's LDS SO.
CT_PERMIT_SECURITY_OBJECT = ARC + ".3"
# Algorithm identifiers used inside our structures.
SHA256 = "2.16.840.1.101.3.4.2.1"  # NIST
SM3 = "1.2.156.10197.1.401"  # GM/T 0006 (SM3 hash)
ECDSA_WITH_SHA256 = "1.2.840.10045.4.3.2"  # RFC 5758 §3.2
# GM/T 0006 / GB/T 33560 object identifiers of the national algorithms (GM suite).
SM2_CURVE = "1.2.156.10197.1.301"  # sm2p256v1 (GB/T 32918.5), namedCurve of id-ecPublicKey keys
SM2_WITH_SM3 = "1.2.156.10197.1.501"  # signature algorithm (GM/T 0015 certificates, GM/T 0010 CMS)
SM4 = "1.2.156.10197.1.104"  # block cipher


def signature_oid(suite: str) -> str:
    """The signature algorithm of a suite ("gm" / "intl") in certificates, CRLs and CMS."""
    return SM2_WITH_SM3 if suite == "gm" else ECDSA_WITH_SHA256
