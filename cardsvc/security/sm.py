"""Host side of secure messaging (ISO/IEC 7816-4:2020 §10), in the manner of ICAO 9303-11 §9.8.

Command:  CLA|0C INS P1 P2  [87 L 01||E(K_enc, IV, pad(data))] [97 L Le] 8E 08 MAC
Response: [87 L 01||E(K_enc, IV, pad(data))] 99 02 SW1SW2 8E 08 MAC  SW1SW2

- pad() is ISO/IEC 9797-1 padding method 2 (80 00..) to the 16-byte block.
- IV = E(K_enc, SSC) (ECB of the counter block), as ICAO 9303-11 §9.8.6.1 / BSI TR-03110 do for AES.
- MAC = CMAC(K_mac, pad(SSC || pad(header) || DOs))[:8] for commands and CMAC(K_mac, pad(SSC || DOs))
  for responses; SSC is a 128-bit counter incremented before each command and each response.
- AES by default; SM4 (GB/T 32907) selectable with the same construction.

The card side is written independently in applets/security/sm.py; tests/vectors/sm_*.json pins both.
A response whose MAC fails is checked against the previous SSC values of the window: if one matches,
the response was replayed or reordered (SmReplayError), otherwise altered (SmMacError). Any failure
closes the session: a new mutual authentication is needed (ICAO 9303-11 §9.8.8 does the same).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from typing import Protocol

from cryptography.hazmat.primitives.ciphers import Cipher, modes
from cryptography.hazmat.primitives.cmac import CMAC

from cardsvc.iso7816.apdu import MAX_SHORT_LC, MAX_SHORT_LE, CommandApdu, ResponseApdu
from cardsvc.iso7816.errors import ApduError, MalformedResponseError, TlvError
from cardsvc.iso7816.sw import SW
from cardsvc.iso7816.tlv import encode_tlv, parse_tlvs
from cardsvc.iso7816.traffic import TRAFFIC
from cardsvc.security.errors import (
    SmFormatError,
    SmMacError,
    SmNotProtectedError,
    SmReplayError,
    SmSessionClosed,
)
from cardsvc.security.kdf import BLOCK_SIZE, KeyPair, SymmetricCipher

log = logging.getLogger(__name__)

MAC_LENGTH = 8
TAG_CRYPTOGRAM = 0x87  # padding-content indicator byte followed by the cryptogram
TAG_LE = 0x97
TAG_STATUS = 0x99
TAG_MAC = 0x8E
PADDING_INDICATOR = 0x01  # ISO 7816-4 table 52: padding per ISO/IEC 9797-1 method 2 ("80 00 …")
DEFAULT_REPLAY_WINDOW = 16


def pad(data: bytes, block: int = BLOCK_SIZE) -> bytes:
    """ISO/IEC 9797-1 padding method 2: append 80, then 00 up to a block boundary (always pads)."""
    padded = data + b"\x80"
    return padded + b"\x00" * (-len(padded) % block)


def unpad(data: bytes, block: int = BLOCK_SIZE) -> bytes:
    """Undo method-2 padding; anything else is an SM format error."""
    if not data or len(data) % block:
        raise SmFormatError(f"padded plaintext of {len(data)} bytes is not a whole number of blocks")
    stripped = data.rstrip(b"\x00")
    if not stripped or stripped[-1] != 0x80 or len(data) - len(stripped) >= block:
        raise SmFormatError("plaintext does not end with ISO/IEC 9797-1 method-2 padding (80 00..)")
    return stripped[:-1]


class SmSession:
    """One secure-messaging session: the session keys and the send sequence counter."""

    def __init__(self, keys: KeyPair, cipher: SymmetricCipher = SymmetricCipher.AES, ssc: int = 0,
                 replay_window: int = DEFAULT_REPLAY_WINDOW) -> None:
        cipher.check_key(keys.k_enc, "K_enc")
        cipher.check_key(keys.k_mac, "K_mac")
        self._keys = keys
        self._cipher = cipher
        self._ssc = ssc
        self._window = replay_window
        self._closed = False

    @property
    def ssc(self) -> int:
        return self._ssc

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        self._closed = True

    # --- primitives -------------------------------------------------------------------------------
    def _ssc_block(self, ssc: int) -> bytes:
        return (ssc % (1 << (8 * BLOCK_SIZE))).to_bytes(BLOCK_SIZE, "big")

    def _iv(self, ssc: int) -> bytes:
        enc = Cipher(self._cipher.algorithm(self._keys.k_enc), modes.ECB()).encryptor()
        return enc.update(self._ssc_block(ssc)) + enc.finalize()

    def _mac(self, ssc: int, data: bytes) -> bytes:
        mac = CMAC(self._cipher.algorithm(self._keys.k_mac))
        mac.update(pad(self._ssc_block(ssc) + data))
        return mac.finalize()[:MAC_LENGTH]

    def _encrypt(self, ssc: int, plain: bytes) -> bytes:
        enc = Cipher(self._cipher.algorithm(self._keys.k_enc), modes.CBC(self._iv(ssc))).encryptor()
        return enc.update(pad(plain)) + enc.finalize()

    def _decrypt(self, ssc: int, cryptogram: bytes) -> bytes:
        if not cryptogram or len(cryptogram) % BLOCK_SIZE:
            raise SmFormatError(f"DO 87: cryptogram of {len(cryptogram)} bytes is not whole blocks")
        dec = Cipher(self._cipher.algorithm(self._keys.k_enc), modes.CBC(self._iv(ssc))).decryptor()
        return unpad(dec.update(cryptogram) + dec.finalize())

    def _check_open(self) -> None:
        if self._closed:
            raise SmSessionClosed("secure messaging session was closed after a failure; authenticate again")

    # --- command ----------------------------------------------------------------------------------
    def wrap(self, command: CommandApdu) -> CommandApdu:
        """Protect a plain command; the result always asks for a response (Le '00' or '0000')."""
        self._check_open()
        if command.cla & 0x80 or command.cla & 0x0C:
            raise SmFormatError(f"CLA {command.cla:02X}: only interindustry CLA without SM can be wrapped")
        self._ssc += 1
        cla = command.cla | 0x0C  # ISO 7816-4 §5.4.1: b4-b3 = 11, header authenticated
        header = bytes((cla, command.ins, command.p1, command.p2))
        do87 = b""
        if command.data:
            do87 = encode_tlv(TAG_CRYPTOGRAM, bytes((PADDING_INDICATOR,)) +
                              self._encrypt(self._ssc, command.data))
        do97 = b""
        if command.le is not None:
            le = command.le
            le_bytes = bytes((le & 0xFF,)) if le <= MAX_SHORT_LE else (le & 0xFFFF).to_bytes(2, "big")
            do97 = encode_tlv(TAG_LE, le_bytes)
        mac = self._mac(self._ssc, pad(header) + do87 + do97)
        data = do87 + do97 + encode_tlv(TAG_MAC, mac)
        extended = len(data) > MAX_SHORT_LC or (command.le or 0) > MAX_SHORT_LE
        log.log(TRAFFIC, "SM wrap %02X %02X %02X %02X: %d plain bytes -> %d protected (ssc %d)",
                command.cla, command.ins, command.p1, command.p2, len(command.data), len(data), self._ssc)
        return CommandApdu(cla, command.ins, command.p1, command.p2, data, 65536 if extended else 256)

    # --- response ---------------------------------------------------------------------------------
    def unwrap(self, raw: bytes) -> ResponseApdu:
        """Check and decrypt a protected response; returns the plain data and the protected SW."""
        self._check_open()
        try:
            response = ResponseApdu.parse(raw)
        except MalformedResponseError:
            self.close()
            raise
        self._ssc += 1
        try:
            return self._unwrap(response)
        except Exception:
            self.close()
            raise

    def _unwrap(self, response: ResponseApdu) -> ResponseApdu:
        if not response.data:
            if response.sw in (SW.SM_DATA_OBJECTS_MISSING, SW.SM_DATA_OBJECTS_INCORRECT):
                raise ApduError.from_sw(response.sw, context="card rejected the secure messaging")
            raise SmNotProtectedError(f"response {response.sw:04X} carries no SM data objects")
        try:
            objects = parse_tlvs(response.data)
        except TlvError as exc:
            raise SmFormatError(f"response SM data objects: {exc}") from None
        tags = [o.tag for o in objects]
        if tags not in ([TAG_STATUS, TAG_MAC], [TAG_CRYPTOGRAM, TAG_STATUS, TAG_MAC]):
            found = " ".join(f"{t:02X}" for t in tags)
            raise SmFormatError(f"response SM data objects must be [87] 99 8E in order, found {found}")
        by_tag = {o.tag: o.value for o in objects}
        if len(by_tag[TAG_MAC]) != MAC_LENGTH:
            raise SmFormatError(f"DO 8E: MAC of {len(by_tag[TAG_MAC])} bytes, expected {MAC_LENGTH}")
        if len(by_tag[TAG_STATUS]) != 2:
            raise SmFormatError(f"DO 99: {len(by_tag[TAG_STATUS])} bytes, a status word is 2")
        covered = b"".join(o.encode() for o in objects[:-1])
        if not hmac.compare_digest(self._mac(self._ssc, covered), by_tag[TAG_MAC]):
            for back in range(1, self._window + 1):
                earlier = self._ssc - back
                if earlier < 0:
                    break
                if hmac.compare_digest(self._mac(earlier, covered), by_tag[TAG_MAC]):
                    raise SmReplayError(
                        f"response MAC belongs to send sequence counter {earlier}, expected {self._ssc}:"
                        " replayed or reordered response")
            raise SmMacError(f"response MAC does not verify (ssc {self._ssc}): response altered")
        sw = int.from_bytes(by_tag[TAG_STATUS], "big")
        if sw != response.sw and response.sw != SW.OK:
            # Outer 9000 with another protected status happens when the answer came in by GET RESPONSE
            # (the last part carries 9000); DO 99 is authenticated, so it is the status that counts.
            raise SmFormatError(f"outer status {response.sw:04X} differs from protected status {sw:04X}")
        data = b""
        if TAG_CRYPTOGRAM in by_tag:
            value = by_tag[TAG_CRYPTOGRAM]
            if not value or value[0] != PADDING_INDICATOR:
                raise SmFormatError("DO 87: padding-content indicator must be 01")
            data = self._decrypt(self._ssc, value[1:])
        log.log(TRAFFIC, "SM unwrap: %d plain bytes, SW %04X (ssc %d)", len(data), sw, self._ssc)
        return ResponseApdu(data, sw)

    # --- convenience ------------------------------------------------------------------------------
    def transmit(self, send: Callable[[bytes], tuple[bytes, int]], command: CommandApdu,
                 extended: bool | None = None) -> ResponseApdu:
        """Wrap, send through `send` (e.g. `Connection.transmit`), unwrap."""
        data, sw = send(self.wrap(command).encode(extended))
        return self.unwrap(data + sw.to_bytes(2, "big"))

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"SmSession({self._cipher.value}, ssc={self._ssc}, {state})"


class _Inner(Protocol):
    def send(self, command: CommandApdu) -> ResponseApdu: ...


class SecureMessagingProcessor:
    """A pipeline layer (cardsvc.protocol.Processor): protects every command sent through it.

    Insert it with `CardSession.add_layer` (below Le adaptation, above GET RESPONSE and chaining): GET
    RESPONSE assembles the whole protected answer below it, chaining splits the protected command, and a
    READ BINARY the card refuses with 6700 inside the protected answer is sent again, newly wrapped, with a
    smaller Le. `extended`: the link carries extended length, so every protected command asks for the
    whole protected answer at once (outer Le '0000'; the outer Le is not MACed)."""

    def __init__(self, inner: _Inner, session: SmSession, *, extended: bool = False) -> None:
        self.inner = inner
        self.session = session
        self.extended = extended

    def send(self, command: CommandApdu) -> ResponseApdu:
        wrapped = self.session.wrap(command)
        if self.extended:
            wrapped = wrapped.with_le(65536)
        response = self.inner.send(wrapped)
        return self.session.unwrap(response.encode())
