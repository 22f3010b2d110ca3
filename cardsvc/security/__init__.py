"""Host-side security: the crypto suite (suite.py: SM2/SM3/SM4 or ECDSA P-256/SHA-256/AES; sm2.py the SM2
keys), issuer PKI, EF.SOD, chip authentication, endorsements, key diversification, mutual authentication
and secure messaging, key store. Primitives come from `cryptography` and, for SM2, gmalglib (sm2.py only);
asn1crypto only encodes/decodes the CMS, certificate, key and record structures.
"""
