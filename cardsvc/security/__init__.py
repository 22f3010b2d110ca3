"""Host-side security: issuer PKI, EF.SOD, chip authentication, endorsements, key diversification,
mutual authentication and secure messaging, key store. Every primitive comes from `cryptography`;
asn1crypto only encodes/decodes the CMS and record structures.

Modules: pki, keystore, ceremony, sod, chip, endorsement, kdf, auth, sm, errors, oids.
"""
