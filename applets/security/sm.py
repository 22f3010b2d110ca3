"""Card side of secure messaging (ISO/IEC 7816-4:2020 §10, ICAO 9303-11 §9.8 construction).

Command in:  CLA|0C INS P1 P2 Lc [87 L 01||cryptogram] [97 L Le] 8E 08 MAC Le
Response out: [87 L 01||cryptogram] 99 02 SW 8E 08 MAC, then SW.
SSC: 128-bit counter, +1 before checking each command and +1 before protecting each response;
IV = E(K_enc, SSC); MAC = CMAC(K_mac, pad(SSC || pad(header) || DOs))[:8] (responses: no header).
Any failure answers 6987 (DO missing) or 6988 (DO wrong) without protection and ends the session
(ICAO 9303-11 §9.8.8): the channel's security status is cleared.

This is the card's own implementation (host side: cardsvc/security/sm.py); the DO parsing here is the
few fixed one-byte-tag objects SM uses, read directly.
"""

from __future__ import annotations

import hmac

from applets.errors import SwError
from applets.security.primitives import BLOCK, cbc, cmac, ecb_block, pad_m2, unpad_m2
from cardsvc.iso7816.apdu import CommandApdu
from cardsvc.iso7816.sw import SW

MAC_LEN = 8


def _read_dos(data: bytes) -> list[tuple[int, bytes, bytes]]:
    """(tag, value, raw DO) for a flat run of one-byte-tag BER-TLVs; 6988 when malformed."""
    out: list[tuple[int, bytes, bytes]] = []
    pos = 0
    while pos < len(data):
        start = pos
        tag = data[pos]
        if tag & 0x1F == 0x1F or pos + 1 >= len(data):
            raise SwError(SW.SM_DATA_OBJECTS_INCORRECT, f"SM data object at offset {pos}: bad tag or no length")
        first = data[pos + 1]
        pos += 2
        if first < 0x80:
            length = first
        elif first in (0x81, 0x82) and pos + (first - 0x80) <= len(data):
            n = first - 0x80
            length = int.from_bytes(data[pos : pos + n], "big")
            pos += n
        else:
            raise SwError(SW.SM_DATA_OBJECTS_INCORRECT, f"SM data object {tag:02X}: bad length byte {first:02X}")
        if pos + length > len(data):
            raise SwError(SW.SM_DATA_OBJECTS_INCORRECT, f"SM data object {tag:02X} runs past the data")
        out.append((tag, data[pos : pos + length], data[start : pos + length]))
        pos += length
    return out


def _do(tag: int, value: bytes) -> bytes:
    n = len(value)
    if n < 0x80:
        length = bytes((n,))
    elif n <= 0xFF:
        length = bytes((0x81, n))
    else:
        length = bytes((0x82,)) + n.to_bytes(2, "big")
    return bytes((tag,)) + length + value


def protected_response_size(plain: int) -> int:
    """Length of the protected response data field for `plain` bytes: DO 87 (indicator + padded
    cryptogram, present when there is data), DO 99 (status) and DO 8E (MAC)."""
    do87 = len(_do(0x87, bytes(1 + (plain // BLOCK + 1) * BLOCK))) if plain else 0
    return do87 + 4 + 2 + MAC_LEN


class CardSmSession:
    """Session keys and send sequence counter of one SM session on one logical channel."""

    def __init__(self, cipher_id: int, k_enc: bytes, k_mac: bytes, ssc: int = 0) -> None:
        self.cipher_id = cipher_id
        self._k_enc = k_enc
        self._k_mac = k_mac
        self.ssc = ssc

    def __repr__(self) -> str:
        return f"CardSmSession(ssc={self.ssc})"

    def _ssc_block(self) -> bytes:
        return (self.ssc % (1 << 128)).to_bytes(BLOCK, "big")

    def _mac(self, data: bytes) -> bytes:
        return cmac(self.cipher_id, self._k_mac, pad_m2(self._ssc_block() + data))[:MAC_LEN]

    def _iv(self) -> bytes:
        return ecb_block(self.cipher_id, self._k_enc, self._ssc_block())

    def unwrap_command(self, apdu: CommandApdu) -> CommandApdu:
        """Verify and decrypt a protected command; the plain command keeps CLA without the SM bits."""
        self.ssc += 1
        dos = _read_dos(apdu.data)
        tags = [t for t, _, _ in dos]
        if not tags or tags[-1] != 0x8E:
            raise SwError(SW.SM_DATA_OBJECTS_MISSING, "protected command lacks the MAC (DO 8E) at its end")
        if tags[:-1] not in ([], [0x87], [0x97], [0x87, 0x97]):
            raise SwError(SW.SM_DATA_OBJECTS_INCORRECT,
                          "protected command DOs must be [87] [97] 8E, found " + " ".join(f"{t:02X}" for t in tags))
        mac = dos[-1][1]
        header = bytes((apdu.cla, apdu.ins, apdu.p1, apdu.p2))
        covered = pad_m2(header) + b"".join(raw for _, _, raw in dos[:-1])
        if len(mac) != MAC_LEN or not hmac.compare_digest(self._mac(covered), mac):
            raise SwError(SW.SM_DATA_OBJECTS_INCORRECT, "command MAC does not verify")
        data = b""
        le: int | None = None
        for tag, value, _ in dos[:-1]:
            if tag == 0x87:
                if len(value) < 1 + BLOCK or value[0] != 0x01 or (len(value) - 1) % BLOCK:
                    raise SwError(SW.SM_DATA_OBJECTS_INCORRECT, "DO 87: bad padding indicator or length")
                plain = unpad_m2(cbc(self.cipher_id, self._k_enc, self._iv(), value[1:], encrypt=False))
                if plain is None:
                    raise SwError(SW.SM_DATA_OBJECTS_INCORRECT, "DO 87: bad padding in the plaintext")
                data = plain
            else:
                if len(value) == 1:
                    le = value[0] or 256
                elif len(value) == 2:
                    le = int.from_bytes(value, "big") or 65536
                else:
                    raise SwError(SW.SM_DATA_OBJECTS_INCORRECT, f"DO 97: {len(value)} bytes, Le is 1 or 2")
        return CommandApdu(apdu.cla & ~0x0C & 0xFF, apdu.ins, apdu.p1, apdu.p2, data, le)

    def wrap_response(self, data: bytes, sw: int) -> bytes:
        """The protected response data field (DOs 87, 99, 8E) for plain `data` and status `sw`."""
        self.ssc += 1
        do87 = b""
        if data:
            ct = cbc(self.cipher_id, self._k_enc, self._iv(), pad_m2(data), encrypt=True)
            do87 = _do(0x87, b"\x01" + ct)
        do99 = _do(0x99, sw.to_bytes(2, "big"))
        return do87 + do99 + _do(0x8E, self._mac(do87 + do99))
