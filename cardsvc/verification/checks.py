"""The security checks of a verification, each a pure function of what was read: passive authentication
(ICAO 9303-11 style, over EF.SOD) and chip authentication. Each returns a ``CheckResult``; none raises for
bad card data (every error of the security package maps to its own result). Endorsement signatures are
in endorsements.py."""

from __future__ import annotations

import datetime as dt
import hmac
import logging
from dataclasses import dataclass

from cryptography import x509

from cardsvc.layout.vocabulary import CHIPKEY_EF, SOD_EF
from cardsvc.security.chip import SIGNATURE_LENGTH, verify_chip_response
from cardsvc.security.errors import (
    ChipAuthenticationFailed,
    ChipKeyFormatError,
    CrlError,
    PkiError,
    SignerExpiredError,
    SignerProfileError,
    SignerRevokedError,
    SodError,
    UntrustedSignerError,
)
from cardsvc.security.pki import SignerRole, TrustStore
from cardsvc.security.sod import SecurityObject, parse_sod
from cardsvc.security.suite import PublicKey, Suite
from cardsvc.verification.reader import CardRead, ProblemKind
from cardsvc.verification.verdict import Check, CheckResult, Result

log = logging.getLogger(__name__)


def _damaged_copy_of_ours(cert: x509.Certificate, trust: TrustStore) -> bool:
    """Whether a certificate that failed the trust check is one of ours with a byte changed: it names
    one of our roots' keys (authority key identifier), or carries the key or serial of a known signer.
    A certificate of a foreign issuer (even one copying our root's name) has neither."""
    try:
        aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    except (x509.ExtensionNotFound, ValueError):
        aki = None
    for root in trust.roots:
        try:
            if aki is not None and aki == root.extensions.get_extension_for_class(
                    x509.SubjectKeyIdentifier).value.digest:
                return True
        except (x509.ExtensionNotFound, ValueError):
            continue
    try:
        key = trust.public_key(cert)
    except SignerProfileError:
        key = None
    return any(s.serial_number == cert.serial_number or (key is not None and _same_key(s, key, trust))
               for s in trust.signers)


def _same_key(cert: x509.Certificate, key: PublicKey, trust: TrustStore) -> bool:
    try:
        return trust.public_key(cert) == key
    except SignerProfileError:
        return False


def pki_result(exc: PkiError, cert: x509.Certificate | None, trust: TrustStore) -> Result:
    """The verdict for a failed signer check. One of our certificates whose signature no longer verifies
    was altered on the card (TAMPERED); one from another issuer is UNTRUSTED_ISSUER."""
    if isinstance(exc, SignerRevokedError):
        return Result.SIGNER_REVOKED
    if isinstance(exc, SignerExpiredError):
        return Result.SIGNER_EXPIRED
    if isinstance(exc, CrlError):
        return Result.REVOCATION_UNKNOWN
    if isinstance(exc, UntrustedSignerError) and cert is not None and _damaged_copy_of_ours(cert, trust):
        return Result.TAMPERED
    return Result.UNTRUSTED_ISSUER  # untrusted, unknown, or not fit for the role (SignerProfileError)


def _malformed(read: CardRead, name: str) -> bool:
    problem = read.problem(name)
    return problem is not None and problem.kind is ProblemKind.MALFORMED


@dataclass(frozen=True, slots=True)
class PassiveAuth:
    result: CheckResult
    sod: SecurityObject | None  # parsed and its signer trusted, when it got that far
    authentic: frozenset[str]  # EF names whose bytes match the security object


def passive_auth(read: CardRead, trust: TrustStore, at: dt.datetime,
                 required: frozenset[str]) -> PassiveAuth:
    """EF.SOD signature → document signer → root, CRL; then every listed EF hashed exactly as read.

    ``required``: EFs that must be covered (a SOD that leaves one out cannot vouch for it)."""
    check = Check.PASSIVE_AUTH
    der = read.files.get(SOD_EF)
    if _malformed(read, SOD_EF):
        return PassiveAuth(CheckResult.failed(check, Result.TAMPERED, "EF.SOD is not a well-formed data object"),
                           None, frozenset())
    if not der:
        why = "EF.SOD is empty" if der is not None else "EF.SOD was not read"
        return PassiveAuth(CheckResult.not_run(check, Result.UNREADABLE, why), None, frozenset())
    try:
        sod = parse_sod(der, trust.suite)
    except SodError as exc:
        return PassiveAuth(CheckResult.failed(check, Result.TAMPERED, f"EF.SOD: {exc}"), None, frozenset())
    try:
        trust.check_signer(sod.signer, SignerRole.DOCUMENT, at)
    except PkiError as exc:
        result = pki_result(exc, sod.signer, trust)
        return PassiveAuth(CheckResult.failed(check, result, f"document signer: {exc}"), None, frozenset())
    by_fid = {fid: name for name, fid in read.fids.items()}
    authentic: set[str] = set()
    failures: list[tuple[Result, str]] = []
    missing: list[str] = []
    for fid, expected in sod.ef_hashes:
        name = by_fid.get(fid)
        if name is None or name == SOD_EF:
            failures.append((Result.TAMPERED, f"EF.SOD lists EF {fid:04X}, which the layout has no place for"))
            continue
        content = read.files.get(name)
        if content is None and _malformed(read, name):  # the issuer signed well-formed data objects
            failures.append((Result.TAMPERED, f"EF {name} ({fid:04X}) is not well-formed BER-TLV"))
            continue
        if content is None:
            missing.append(name)
            continue
        if hmac.compare_digest(sod.hash_algorithm.digest(content), expected):
            authentic.add(name)
        else:
            failures.append((Result.TAMPERED, f"EF {name} ({fid:04X}) does not match its hash in EF.SOD"))
    listed = {by_fid.get(fid) for fid, _ in sod.ef_hashes}
    for name in sorted(required - listed - {None}):
        if read.files.get(name):  # an empty, unlisted file vouches for nothing and claims nothing
            failures.append((Result.TAMPERED, f"EF {name} is not covered by EF.SOD"))
    if failures:
        return PassiveAuth(CheckResult.failed(check, failures[0][0], "; ".join(f for _, f in failures)),
                           sod, frozenset(authentic))
    if missing:
        return PassiveAuth(CheckResult.not_run(check, Result.UNREADABLE,
                                               f"not read, so not checked: {', '.join(sorted(missing))}"),
                           sod, frozenset(authentic))
    try:
        detail = f"{len(authentic)} files match EF.SOD, signed by authority {sod.authority_code}"
    except PkiError as exc:  # a trusted signer certificate without an authority code: unfit for the role
        return PassiveAuth(CheckResult.failed(check, Result.UNTRUSTED_ISSUER, str(exc)), None, frozenset())
    return PassiveAuth(CheckResult.passed(check, detail), sod, frozenset(authentic))


def chip_auth(read: CardRead, passive: PassiveAuth, suite: Suite) -> CheckResult:
    """The chip signed our fresh challenge with the key in EF.CHIPKEY (which EF.SOD must vouch for); an SM2
    chip key under `suite`'s signer ID (the layout's, given to the card at personalization)."""
    check = Check.CHIP_AUTH
    if CHIPKEY_EF not in passive.authentic:
        if passive.result.result is not None:
            return CheckResult.blocked(check, passive.result)
        return CheckResult.not_run(check, Result.UNREADABLE, "EF.CHIPKEY is not authenticated by EF.SOD")
    if read.chip_signature is None or read.chip_challenge is None:
        problem = read.problem("chip_auth")
        if problem is not None and problem.kind is ProblemKind.NO_CHIP_KEY:
            return CheckResult.failed(check, Result.CLONED, f"the chip holds no chip key ({problem.reason}): "
                                                            "a copy of the files without the chip's secret")
        return CheckResult.not_run(check, Result.UNREADABLE,
                                   problem.reason if problem else "the chip was not challenged")
    if len(read.chip_signature) != SIGNATURE_LENGTH:
        return CheckResult.failed(check, Result.UNREADABLE,
                                  f"INTERNAL AUTHENTICATE answered {len(read.chip_signature)} bytes, "
                                  f"not a {SIGNATURE_LENGTH}-byte signature")
    try:
        verify_chip_response(read.files[CHIPKEY_EF], read.chip_challenge, read.chip_signature, suite)
    except ChipKeyFormatError as exc:
        return CheckResult.failed(check, Result.UNREADABLE, str(exc))
    except ChipAuthenticationFailed as exc:
        return CheckResult.failed(check, Result.CLONED, str(exc))
    return CheckResult.passed(check, "chip signed a fresh challenge with the key of EF.CHIPKEY")


