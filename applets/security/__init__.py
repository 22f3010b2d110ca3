"""Card-side security: key objects, retry counters, authentication commands, secure messaging.

Written against `cryptography` and `cardsvc.iso7816` only (design §3 import rules), independently of the
host side in `cardsvc/security`; tests/vectors/*.json pin both to the same bytes.
"""
