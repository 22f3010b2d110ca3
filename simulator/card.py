"""VirtualCard: the card OS behind an ATR, power switching and fault injection (design §3)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

from applets.cardos import CardOs
from applets.context import CardState
from applets.errors import PowerLoss
from applets.fs import TransparentEf
from applets.nvm import DEFAULT_PAGE_SIZE, Nvm
from applets.security.module import install as install_security
from cardsvc.iso7816.fcp import ALWAYS, NEVER, AccessCondition, DfOp, EfOp, LifeCycle, SecurityAttributes
from cardsvc.iso7816.sw import SW
from cardsvc.iso7816.tlv import encode_tlv
from simulator.faults import FaultInjector, PowerCut, When
from simulator.image import decode_image, encode_image, format_for, state_to_obj, write_atomically

log = logging.getLogger(__name__)

EF_ATR_FID = 0x2F01
MAX_COMMAND_APDU = 4 + 3 + 65535 + 2  # header, extended Lc, data, extended Le
MAX_RESPONSE_APDU = 65536 + 2


def historical_bytes() -> bytes:
    """Category 80 + compact-TLV card capabilities '73' (ISO 7816-4 §12.1.1.9, tables 117-119).

    Byte 1 F6: DF selection by full and partial DF name, path and FID; SFI and record numbers supported.
    Byte 2 21: data coding (one-byte data units). Byte 3 FB: command chaining (b8), extended Lc/Le (b7),
    extended-length information in EF.ATR (b6), channel numbers assigned by card and IFD (b5-b4),
    four logical channels (b3-b1 = 011).
    """
    return bytes((0x80, 0x73, 0xF6, 0x21, 0xFB))


def build_atr(historical: bytes | None = None) -> bytes:
    """TS 3B, T0, TD1 81 (T=1, TD2 follows), TD2 31 (TA3/TB3, T=1), TA3 FE (IFSC 254), TB3 45 (BWI 4,
    CWI 5), historical bytes, TCK (ISO 7816-3 §8.2)."""
    hist = historical_bytes() if historical is None else historical
    if len(hist) > 15:
        raise ValueError(f"{len(hist)} historical bytes; at most 15")
    body = bytes((0x80 | len(hist), 0x81, 0x31, 0xFE, 0x45)) + hist
    tck = 0
    for b in body:
        tck ^= b
    return b"\x3b" + body + bytes((tck,))


DEFAULT_ATR = build_atr()


def ef_atr_content() -> bytes:
    """DO '7F66' extended length information: max command and response APDU sizes (ISO 7816-4 §12.7.1)."""
    def integer(n: int) -> bytes:
        return encode_tlv(0x02, n.to_bytes((n.bit_length() + 7) // 8, "big"))

    return encode_tlv(0x7F66, integer(MAX_COMMAND_APDU) + integer(MAX_RESPONSE_APDU))


ISSUER_KEY_REF = 1  # the key reference the card stock's MF rules name for the issuer (personalization) key
Profile = Literal["issuer"]


def issuer_mf_security(key_ref: int = ISSUER_KEY_REF) -> SecurityAttributes:
    """The MF rules of the card stock a permit issuer orders: every change below the MF — create or delete
    an application, activate, deactivate or terminate — needs the issuer key, under secure messaging;
    the MF itself is never deleted. Design §4: writes after personalization go through SM with per-card
    keys. The per-card issuer key is loaded into the MF (PUT KEY) at personalization."""
    issuer = AccessCondition(key_ref=key_ref, sm=True)
    rules = {DfOp.DELETE: NEVER, DfOp.TERMINATE: issuer, DfOp.ACTIVATE: issuer, DfOp.DEACTIVATE: issuer,
             DfOp.CREATE_DF: issuer, DfOp.CREATE_EF: issuer, DfOp.DELETE_CHILD: issuer}
    return SecurityAttributes({int(op): cond for op, cond in rules.items()})


def blank_state(mf_security: SecurityAttributes | Profile | None = "issuer", capacity: int | None = None, *,
                mf_lifecycle: LifeCycle | None = None) -> CardState:
    """A card as delivered: the MF holding a read-only EF.ATR.

    By default the MF carries `issuer_mf_security()` and is in INITIALISATION (ISO 7816-4 §7.4.10): its
    rules bind only once personalization ACTIVATEs it, after loading the issuer key. Given other rules
    (or None: no rules), the MF is ACTIVATED unless `mf_lifecycle` says otherwise, so they bind at once.
    """
    state = CardState.blank() if capacity is None else CardState.blank(capacity)
    if mf_security == "issuer":
        state.mf.security = issuer_mf_security()
        state.mf.lifecycle = LifeCycle.INITIALISATION
    else:
        state.mf.security = mf_security
    if mf_lifecycle is not None:
        state.mf.lifecycle = mf_lifecycle
    content = ef_atr_content()
    state.mf.attach(TransparentEf(EF_ATR_FID, len(content), security=SecurityAttributes({EfOp.READ: ALWAYS}),
                                  data=content))
    return state


class VirtualCard:
    """`power_on() -> atr`, `power_off()`, `reset() -> atr`, `process(apdu) -> response`.

    `process` never raises: a powered card answers every input with data + SW; an unpowered card (never
    powered, powered off, or after an injected power cut) is mute and returns b"".
    """

    def __init__(self, state: CardState | None = None, *, atr: bytes = DEFAULT_ATR,
                 page_size: int = DEFAULT_PAGE_SIZE, security: bool = True, max_le: int | None = None) -> None:
        self.nvm = Nvm(page_size)
        self.faults = FaultInjector(self.nvm)
        self.nvm.hook = self.faults
        self.os = CardOs(state if state is not None else blank_state(), self.nvm)
        if max_le is not None and not 1 <= max_le <= 65536:
            raise ValueError(f"max_le must be 1..65536, got {max_le}")
        self.os.max_le = max_le  # READ BINARY with a larger Ne answers 6700 (a small I/O buffer)
        self.security = security
        if security:  # a real permit card runs its security module; tests of the bare file system opt out
            install_security(self.os)
        self._atr = bytes(atr)
        self.powered = False

    @classmethod
    def blank(cls, mf_security: SecurityAttributes | Profile | None = "issuer", *, capacity: int | None = None,
              page_size: int = DEFAULT_PAGE_SIZE, security: bool = True, max_le: int | None = None,
              mf_lifecycle: LifeCycle | None = None) -> VirtualCard:
        """A card as delivered (see `blank_state`); `max_le`: the card's READ BINARY buffer limit."""
        return cls(blank_state(mf_security, capacity, mf_lifecycle=mf_lifecycle), page_size=page_size,
                   security=security, max_le=max_le)

    @property
    def atr(self) -> bytes:
        return self._atr

    @property
    def state(self) -> CardState:
        return self.os.state

    def power_on(self) -> bytes:
        self.os.reset()
        self.powered = True
        return self._atr

    def power_off(self) -> None:
        self.powered = False

    def reset(self) -> bytes:
        """Warm reset: volatile state cleared, the ATR sent again (ISO 7816-3 §6.2.3)."""
        return self.power_on()

    def process(self, apdu: bytes) -> bytes:
        if not self.powered:
            return b""
        try:
            return self.os.process(apdu)
        except PowerLoss as exc:
            log.info("virtual card lost power: %s", exc)
            self.powered = False
            return b""
        except Exception:  # the OS boundary already answers 6F00; this guards the guard
            log.exception("virtual card fault")
            return SW.NO_PRECISE_DIAGNOSIS.to_bytes(2, "big")

    def cut_power(self, write: int, when: When = When.MIDDLE, pages: int | None = None) -> None:
        """Arm a power cut at the `write`-th NVM write from now (see simulator.faults)."""
        self.faults.arm(PowerCut(write, when, pages))

    # --- images -------------------------------------------------------------------------------------
    def to_bytes(self, fmt: str = "cbor") -> bytes:
        return encode_image(lambda blob: state_to_obj(self.os.state, self._atr, self.nvm.page_size, blob), fmt)

    @classmethod
    def from_bytes(cls, raw: bytes, fmt: str = "cbor", *, security: bool = True) -> VirtualCard:
        state, atr, page_size = decode_image(raw, fmt)
        return cls(state, atr=atr, page_size=page_size, security=security)

    def save(self, path: str | Path) -> None:
        target = Path(path)
        write_atomically(target, self.to_bytes(format_for(target)))

    @classmethod
    def load(cls, path: str | Path, *, security: bool = True) -> VirtualCard:
        source = Path(path)
        return cls.from_bytes(source.read_bytes(), format_for(source), security=security)
