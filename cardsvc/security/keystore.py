"""Key store: one interface (`KeyStore`) over where keys live.

`EncryptedFileKeyStore` keeps everything in one directory, for development and small deployments:
- private keys: PKCS#8 PEM encrypted (PBES2: PBKDF2-HMAC-SHA256 with `PBKDF2_ITERATIONS`, AES-256-CBC;
  cardsvc/security/pkcs8.py) under a passphrase read from an environment variable (never from a file or
  argument, so it stays out of shell history). cryptography's `BestAvailableEncryption` fixes 2048
  iterations, too few (issue 13; OWASP's current figure for PBKDF2-HMAC-SHA256 is 600,000); keys written
  with it earlier still load;
- symmetric master keys: AES key wrap with padding (RFC 5649) under a key from scrypt(passphrase, salt);
- certificates and CRLs: PEM beside them (public).
A PKCS#11 backend implements the same Protocol later; callers sign and derive through the store, so
non-extractable keys fit. A store is opened for the `Suite` of the layouts it serves (`common_suite`):
its keys are made in that suite and its SM2 keys load with the layouts' signer ID (`sm2_distid`), so
they sign what the layouts' verifiers check. Only the key ceremony and the service's QR / status-list
signing call `private_key`.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar, Protocol, runtime_checkable

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import keywrap, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from cardsvc.security.errors import (
    KeyExists,
    KeyNotFound,
    KeyStoreDecryptError,
    KeyStoreError,
    KeyStorePassphraseMissing,
)
from cardsvc.security.kdf import SymmetricCipher, sp800_108_cmac
from cardsvc.security.pkcs8 import decrypt_pkcs8, encrypt_pkcs8
from cardsvc.security.suite import (
    INTL,
    EcdsaPrivateKey,
    LayoutLike,
    PrivateKey,
    PublicKey,
    Suite,
    SuiteName,
    common_suite,
)

PBKDF2_ITERATIONS = 600_000  # private keys at rest (OWASP 2023 for PBKDF2-HMAC-SHA256); ~70 ms per key

log = logging.getLogger(__name__)

PASSPHRASE_ENV = "CARDSVC_KEYSTORE_PASSPHRASE"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_SCRYPT_N = 2**14  # RFC 7914 interactive-use cost; one derivation per store open


@runtime_checkable
class KeyStore(Protocol):
    """Operations the rest of the code needs; keys are named, e.g. "root", "ds-411202"."""

    @property
    def suite(self) -> Suite:
        """The suite (and SM2 signer ID) of the layouts this store serves."""
        ...

    def generate_key(self, name: str, suite: Suite | None = None) -> PublicKey:
        """A key pair of `suite`, by default the store's."""
        ...

    def generate_ec_key(self, name: str) -> PublicKey:
        """An intl-suite (P-256) key; `generate_key` chooses the suite."""
        ...

    def public_key(self, name: str) -> PublicKey: ...

    def sign(self, name: str, data: bytes) -> bytes:
        """DER signature by the named private key, in its suite (ECDSA-SHA-256 or SM2-with-SM3)."""
        ...

    def private_key(self, name: str) -> PrivateKey: ...

    def generate_secret(self, name: str, length: int = 16, cipher: SymmetricCipher = SymmetricCipher.AES) -> None:
        """A master key for `cipher`'s CMAC (the suite's block cipher); `derive` uses it by default."""
        ...

    def derive(self, name: str, label: bytes, context: bytes, length: int,
               cipher: SymmetricCipher | None = None) -> bytes:
        """SP 800-108 CMAC derivation from the named master key (the secret itself never leaves), with
        the master key's own cipher unless `cipher` names one."""
        ...

    def put_certificate(self, name: str, cert: x509.Certificate, overwrite: bool = False) -> None: ...

    def certificate(self, name: str) -> x509.Certificate: ...

    def put_crl(self, name: str, crl: x509.CertificateRevocationList) -> None: ...

    def crl(self, name: str) -> x509.CertificateRevocationList: ...

    def names(self, kind: str) -> list[str]:
        """Stored names of one kind: "keys", "secrets", "certs" or "crls"."""
        ...


def _check_name(name: str) -> str:
    if not _NAME_RE.fullmatch(name):
        raise KeyStoreError(f"name: {name!r} must be 1-64 characters of A-Z a-z 0-9 _ . - (no path)")
    return name


class EncryptedFileKeyStore:
    """A directory of encrypted PKCS#8 keys, wrapped secrets, certificates and CRLs."""

    _SUFFIX: ClassVar[dict[str, str]] = {
        "keys": ".p8.pem", "secrets": ".wrapped.json", "certs": ".crt.pem", "crls": ".crl.pem"}

    def __init__(self, root: Path | str, passphrase_env: str = PASSPHRASE_ENV,
                 cache_private_keys: bool = False, *, suite: Suite) -> None:
        """`suite`: the layouts' (`cardsvc.security.suite.common_suite`), which makes keys and gives SM2 keys
        their signer ID. `cache_private_keys`: keep keys unlocked in process memory after first use (a printing
        station signing many cards; decrypting PKCS#8 costs ~2.5 ms per signature otherwise), master
        secrets too (reading and unwrapping one costs ~0.1 ms, eight times per card for its keys)."""
        passphrase = os.environ.get(passphrase_env, "")
        if not passphrase:
            raise KeyStorePassphraseMissing(f"environment variable {passphrase_env} is unset or empty")
        self._passphrase = passphrase.encode("utf-8")
        self._root = Path(root)
        self._suite = suite
        self._keks: dict[bytes, bytes] = {}  # salt → KEK: scrypt once per file per process
        self._unlocked: dict[str, PrivateKey] | None = {} if cache_private_keys else None
        self._secrets: dict[str, tuple[bytes, SymmetricCipher]] | None = {} if cache_private_keys else None
        for kind in self._SUFFIX:
            (self._root / kind).mkdir(parents=True, exist_ok=True, mode=0o700)

    @classmethod
    def for_layouts(cls, root: Path | str, layouts: Iterable[LayoutLike], *, cache_private_keys: bool = False,
                    passphrase_env: str = PASSPHRASE_ENV) -> EncryptedFileKeyStore:
        """The store of the PKI that serves `layouts`, in their common suite and SM2 signer ID."""
        return cls(root, passphrase_env, cache_private_keys, suite=common_suite(layouts))

    def __repr__(self) -> str:
        return f"EncryptedFileKeyStore({str(self._root)!r})"

    @property
    def suite(self) -> Suite:
        return self._suite

    def _path(self, kind: str, name: str) -> Path:
        return self._root / kind / (_check_name(name) + self._SUFFIX[kind])

    def _write(self, path: Path, data: bytes, overwrite: bool, secret: bool) -> None:
        if path.exists() and not overwrite:
            raise KeyExists(f"{path.parent.name}/{path.name} already exists")
        tmp = path.with_suffix(path.suffix + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if secret else 0o644)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)  # atomic: a crash leaves the old file or the new one

    def _read(self, kind: str, name: str) -> bytes:
        path = self._path(kind, name)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise KeyNotFound(f"no {kind[:-1]} named {name!r}") from None

    # --- asymmetric ---------------------------------------------------------------------------------
    def import_private_key(self, name: str, key: PrivateKey | ec.EllipticCurvePrivateKey,
                           overwrite: bool = False) -> None:
        if isinstance(key, EcdsaPrivateKey):
            key = key.key
        if isinstance(key, ec.EllipticCurvePrivateKey):
            der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        else:
            der = key.pkcs8()
        pem = encrypt_pkcs8(der, self._passphrase, iterations=PBKDF2_ITERATIONS)
        self._write(self._path("keys", name), pem, overwrite, secret=True)
        if self._unlocked is not None:
            self._unlocked.pop(name, None)
        log.info("stored private key %s", name)

    def export_private_key(self, name: str, path: Path) -> None:
        """Move a private key out of the store into `path` (still encrypted, 0600) for the operator to take
        offline: the root CA key after the ceremony (issue 13). The store keeps no copy."""
        source = self._path("keys", name)
        if not source.exists():
            raise KeyNotFound(f"no key named {name!r}")
        if path.exists():
            raise KeyExists(f"{path} already exists")
        self._write(path, source.read_bytes(), False, secret=True)
        source.unlink()
        if self._unlocked is not None:
            self._unlocked.pop(name, None)
        log.warning("private key %s moved out of the key store to %s: take it offline", name, path)

    def load_exported_key(self, path: Path) -> PrivateKey:
        """A key `export_private_key` wrote (the offline root, brought back for a CRL or a new signer)."""
        return self._load_private_key(path.name, Path(path).read_bytes())

    def generate_key(self, name: str, suite: Suite | None = None) -> PublicKey:
        suite = suite or self._suite
        if suite.name is SuiteName.GM and suite != self._suite:  # it would load with another ID than it signs
            raise KeyStoreError(f"key {name!r}: SM2 signer ID {suite.distid!r} is not this store's "
                                f"{self._suite.distid!r}")
        key = suite.generate_key()
        self.import_private_key(name, key)
        return key.public_key()

    def generate_ec_key(self, name: str) -> PublicKey:
        return self.generate_key(name, INTL)

    def private_key(self, name: str) -> PrivateKey:
        if self._unlocked is not None and name in self._unlocked:
            return self._unlocked[name]
        key = self._load_private_key(name, self._read("keys", name))
        if self._unlocked is not None:
            self._unlocked[name] = key
        return key

    def _load_private_key(self, name: str, pem: bytes) -> PrivateKey:
        try:
            key = serialization.load_pem_private_key(pem, self._passphrase)
        except UnsupportedAlgorithm:  # an SM2 key: cryptography knows no SM2 curve
            try:
                return self._suite.load_private_key(decrypt_pkcs8(pem, self._passphrase))
            except ValueError:
                raise KeyStoreDecryptError(f"private key {name!r} does not decrypt (wrong passphrase?)") from None
        except (ValueError, TypeError):
            raise KeyStoreDecryptError(f"private key {name!r} does not decrypt (wrong passphrase?)") from None
        if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
            raise KeyStoreError(f"private key {name!r} is neither a P-256 nor an SM2 key")
        return EcdsaPrivateKey(key)

    def public_key(self, name: str) -> PublicKey:
        return self.private_key(name).public_key()

    def sign(self, name: str, data: bytes) -> bytes:
        return self.private_key(name).sign(data)

    # --- symmetric ----------------------------------------------------------------------------------
    def _kek(self, salt: bytes) -> bytes:
        kek = self._keks.get(salt)
        if kek is None:
            kek = Scrypt(salt=salt, length=32, n=_SCRYPT_N, r=8, p=1).derive(self._passphrase)
            self._keks[salt] = kek
        return kek

    def import_secret(self, name: str, secret: bytes, overwrite: bool = False,
                      cipher: SymmetricCipher = SymmetricCipher.AES) -> None:
        if len(secret) not in (16, 24, 32):
            raise KeyStoreError(f"secret {name!r}: {len(secret)} bytes, a master key is 16, 24 or 32")
        salt = os.urandom(16)
        wrapped = keywrap.aes_key_wrap_with_padding(self._kek(salt), secret)
        doc = {"format": "cardsvc-wrapped-secret/1", "kdf": "scrypt", "n": _SCRYPT_N, "r": 8, "p": 1,
               "salt": base64.b64encode(salt).decode(), "wrap": "aes-kwp-256",
               "wrapped": base64.b64encode(wrapped).decode(), "cipher": cipher.value}
        self._write(self._path("secrets", name), json.dumps(doc).encode(), overwrite, secret=True)
        if self._secrets is not None:
            self._secrets.pop(name, None)
        log.info("stored secret %s", name)

    def generate_secret(self, name: str, length: int = 16, cipher: SymmetricCipher = SymmetricCipher.AES) -> None:
        self.import_secret(name, os.urandom(length), cipher=cipher)

    def _secret(self, name: str) -> tuple[bytes, SymmetricCipher]:
        if self._secrets is not None and name in self._secrets:
            return self._secrets[name]
        secret = self._unwrap_secret(name)
        if self._secrets is not None:
            self._secrets[name] = secret
        return secret

    def _unwrap_secret(self, name: str) -> tuple[bytes, SymmetricCipher]:
        try:
            doc = json.loads(self._read("secrets", name))
            salt = base64.b64decode(doc["salt"], validate=True)
            wrapped = base64.b64decode(doc["wrapped"], validate=True)
            if doc.get("format") != "cardsvc-wrapped-secret/1":
                raise ValueError("unknown format")
            cipher = SymmetricCipher(doc.get("cipher", "AES"))  # files written before suites: AES
        except (ValueError, KeyError, TypeError) as exc:
            raise KeyStoreError(f"secret {name!r}: damaged file ({type(exc).__name__})") from None
        try:
            return keywrap.aes_key_unwrap_with_padding(self._kek(salt), wrapped), cipher
        except keywrap.InvalidUnwrap:
            raise KeyStoreDecryptError(f"secret {name!r} does not unwrap (wrong passphrase?)") from None

    def derive(self, name: str, label: bytes, context: bytes, length: int,
               cipher: SymmetricCipher | None = None) -> bytes:
        secret, own = self._secret(name)
        return sp800_108_cmac(secret, label, context, length, cipher or own)

    def secret_length(self, name: str) -> int:
        return len(self._secret(name)[0])

    # --- public objects -----------------------------------------------------------------------------
    def put_certificate(self, name: str, cert: x509.Certificate, overwrite: bool = False) -> None:
        self._write(self._path("certs", name), cert.public_bytes(serialization.Encoding.PEM), overwrite,
                    secret=False)

    def certificate(self, name: str) -> x509.Certificate:
        try:
            return x509.load_pem_x509_certificate(self._read("certs", name))
        except ValueError:
            raise KeyStoreError(f"certificate {name!r}: not a PEM certificate") from None

    def put_crl(self, name: str, crl: x509.CertificateRevocationList) -> None:
        # CRLs are replaced by newer ones (higher CRL number) by design.
        self._write(self._path("crls", name), crl.public_bytes(serialization.Encoding.PEM), True,
                    secret=False)

    def crl(self, name: str) -> x509.CertificateRevocationList:
        try:
            return x509.load_pem_x509_crl(self._read("crls", name))
        except ValueError:
            raise KeyStoreError(f"CRL {name!r}: not a PEM CRL") from None

    def names(self, kind: str) -> list[str]:
        if kind not in self._SUFFIX:
            raise KeyStoreError(f"kind: {kind!r} is not one of {sorted(self._SUFFIX)}")
        suffix = self._SUFFIX[kind]
        return sorted(p.name[: -len(suffix)] for p in (self._root / kind).glob("*" + suffix))
