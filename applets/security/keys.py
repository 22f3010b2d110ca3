"""Key objects and retry counters in the card's persistent object store (`CardState.objects`).

A key belongs to a scope: the application DF it was loaded into (DF-specific, P2 b8 = 1) or the MF
(global, b8 = 0), so a department's key exists only inside its own ADF. Objects:

    key:<scope path>:<ref>   01 | kind | cipher | max tries | key material     (never readable)
    try:<scope path>:<ref>   remaining tries, 1 byte                           (decremented before use)

No command returns key material; the only way out of a key is what it computes. Counters are written
through the NVM's atomic commit, before the check they guard, so a power cut mid-authentication costs
a try instead of granting a free one; a blocked key stays blocked in the saved card image.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from applets.context import Context
from applets.errors import SwError
from applets.fs import DedicatedFile
from applets.security.primitives import CIPHERS
from cardsvc.iso7816.sw import SW

FORMAT = 0x01
MAX_TRIES_LIMIT = 15  # fits the x of 63Cx


class KeyKind(enum.IntEnum):
    SYMMETRIC = 0x01  # role key for MUTUAL AUTHENTICATE (AES or SM4)
    CHIP_EC = 0x02  # P-256 private scalar generated on the card (chip authentication)


@dataclass(frozen=True, slots=True, repr=False)
class KeyObject:
    kind: KeyKind
    cipher: int
    max_tries: int
    material: bytes

    def encode(self) -> bytes:
        return bytes((FORMAT, self.kind, self.cipher, self.max_tries)) + self.material

    @classmethod
    def decode(cls, raw: bytes) -> KeyObject:
        if len(raw) < 5 or raw[0] != FORMAT or raw[1] not in (1, 2):
            raise SwError(SW.REFERENCE_DATA_NOT_USABLE, "key object is damaged")
        return cls(KeyKind(raw[1]), raw[2], raw[3], bytes(raw[4:]))

    def __repr__(self) -> str:
        return f"KeyObject({self.kind.name}, cipher={self.cipher}, tries={self.max_tries}, <secret>)"


def scope_for(ctx: Context, p2: int) -> tuple[DedicatedFile, int]:
    """(scope DF, key reference) from P2: b8 = 1 the current application, b8 = 0 the MF; b5-b1 the
    reference 1-14 (ISO 7816-4 §11.5.4, P2 of the authentication commands)."""
    ref = p2 & 0x1F
    if p2 & 0x60 or not 1 <= ref <= 14:
        raise SwError(SW.INCORRECT_P1_P2, f"P2 {p2:02X}: key reference must be 1..14 (b8 = DF-specific)")
    scope = ctx.channel.current_df.application if p2 & 0x80 else ctx.os.state.mf
    return scope, ref


def _path(scope: DedicatedFile) -> str:
    return "/".join(f"{n.fid:04X}" for n in reversed(list(scope.chain())))


def key_name(scope: DedicatedFile, ref: int) -> str:
    return f"key:{_path(scope)}:{ref:02X}"


def tries_name(scope: DedicatedFile, ref: int) -> str:
    return f"try:{_path(scope)}:{ref:02X}"


def load_key(ctx: Context, scope: DedicatedFile, ref: int, kind: KeyKind) -> KeyObject:
    raw = ctx.os.get_object(key_name(scope, ref))
    if raw is None:
        raise SwError(SW.REFERENCED_DATA_NOT_FOUND, f"no key {ref} in DF {scope.fid:04X}")
    key = KeyObject.decode(raw)
    if key.kind != kind:
        raise SwError(SW.CONDITIONS_OF_USE_NOT_SATISFIED, f"key {ref} is not a {kind.name.lower()} key")
    return key


def store_key(ctx: Context, scope: DedicatedFile, ref: int, key: KeyObject) -> None:
    if key.kind == KeyKind.SYMMETRIC and key.cipher not in CIPHERS:
        raise SwError(SW.INCORRECT_DATA, f"cipher {key.cipher:02X} is not 01 (AES) or 02 (SM4)")
    if not 1 <= key.max_tries <= MAX_TRIES_LIMIT:
        raise SwError(SW.INCORRECT_DATA, f"retry limit {key.max_tries} is not 1..{MAX_TRIES_LIMIT}")
    ctx.os.put_object(key_name(scope, ref), key.encode())
    ctx.os.put_object(tries_name(scope, ref), bytes((key.max_tries,)))


def tries_left(ctx: Context, scope: DedicatedFile, ref: int) -> int:
    raw = ctx.os.get_object(tries_name(scope, ref))
    return raw[0] if raw else 0


def set_tries(ctx: Context, scope: DedicatedFile, ref: int, value: int) -> None:
    ctx.os.put_object(tries_name(scope, ref), bytes((value,)))
