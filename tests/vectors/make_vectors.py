"""Regenerate the published security vectors: `python tests/vectors/make_vectors.py`.

Fixed, made-up inputs (no real keys). KDF outputs come from the host KDF (cryptography's KBKDFCMAC);
mutual-authentication and SM responses come from the card-side modules, SM commands from the host side.
tests/unit/test_security_vectors.py checks every value against the other side and against a third,
test-local computation, so a change in either implementation shows up as a vector mismatch.
"""

from __future__ import annotations

import json
from pathlib import Path

from applets.security.mutual import card_mutual_authenticate
from applets.security.primitives import CIPHER_AES, CIPHER_SM4
from cardsvc.iso7816.apdu import CommandApdu
from cardsvc.security.kdf import SymmetricCipher, diversify_key, sp800_108_cmac
from cardsvc.security.mutual_auth import MutualAuthentication

HERE = Path(__file__).parent


def _h(n: int, seed: int) -> bytes:
    return bytes((seed * 17 + i * 29) & 0xFF for i in range(n))


def kdf_vectors() -> dict[str, object]:
    cases = []
    for cipher in SymmetricCipher:
        for key_len in cipher.key_lengths:
            for label, context, length in ((b"cardsvc/sm-enc", _h(32, 3), key_len), (b"L", b"", 40),
                                           (b"cardsvc/div/issuer", b"4112020000000001", 16)):
                key = _h(key_len, key_len + len(label))
                cases.append({"cipher": cipher.value, "key": key.hex(), "label": label.hex(),
                              "context": context.hex(), "length": length,
                              "output": sp800_108_cmac(key, label, context, length, cipher).hex()})
    div = []
    for cipher in SymmetricCipher:
        for role, card in (("issuer", "4112020000000001"), ("dept-health", "41010500A0000042")):
            master = _h(16, len(role))
            div.append({"cipher": cipher.value, "master": master.hex(), "role": role, "card_number": card,
                        "key": diversify_key(master, card, role, cipher).hex()})
    return {"description": "NIST SP 800-108r1 counter-mode KDF, PRF = CMAC (AES per SP 800-38B, or SM4);"
                           " r = 32, L in 32 bits, counter before Label || 00 || Context || [L]_32",
            "kdf": cases, "diversification": div}


def sm_vectors(cipher: SymmetricCipher) -> dict[str, object]:
    cipher_id = CIPHER_AES if cipher is SymmetricCipher.AES else CIPHER_SM4
    role_key = _h(16, 7)
    rnd_icc, rnd_ifd, k_ifd, k_icc = _h(16, 1), _h(16, 2), _h(16, 3), _h(16, 4)
    randoms = iter((rnd_ifd, k_ifd))
    host = MutualAuthentication(role_key, 3, cipher, random=lambda n: next(randoms))
    cmd = host.command(rnd_icc)
    card = card_mutual_authenticate(cipher_id, role_key, rnd_icc, cmd.data, k_icc)
    assert card.ok and card.session is not None
    session = host.finish(card.response, 0x9000)
    steps = []
    commands = [
        (CommandApdu(0x00, 0xB0, 0x81, 0x00, le=256), b"\x01\x02\x03" * 10, 0x9000),
        (CommandApdu(0x00, 0xD6, 0x00, 0x10, "permit data 居住证".encode("gb18030")), b"", 0x9000),
        (CommandApdu(0x00, 0xE2, 0x00, 0x00, _h(40, 9)), b"", 0x9000),
        (CommandApdu(0x00, 0xB2, 0x01, 0x04, le=256), b"", 0x6A83),
        (CommandApdu(0x00, 0xB0, 0x00, 0x00, le=1000), _h(1000, 5), 0x9000),
    ]
    for plain, resp_data, sw in commands:
        protected = session.wrap(plain)
        back = card.session.unwrap_command(protected)
        assert (back.data, back.le) == (plain.data, plain.le)
        protected_resp = card.session.wrap_response(resp_data, sw)
        steps.append({"command": plain.encode().hex(), "protected_command": protected.encode().hex(),
                      "response_data": resp_data.hex(), "sw": f"{sw:04X}",
                      "protected_response": (protected_resp + sw.to_bytes(2, "big")).hex()})
        session.unwrap(protected_resp + sw.to_bytes(2, "big"))
    return {"description": f"ISO 7816-4 §10 secure messaging, {cipher.value}-CBC + {cipher.value}-CMAC,"
                           " after MUTUAL AUTHENTICATE (scheme in cardsvc/security/mutual_auth.py); SSC from 0",
            "cipher": cipher.value, "role_key": role_key.hex(), "key_ref": 3,
            "rnd_icc": rnd_icc.hex(), "rnd_ifd": rnd_ifd.hex(), "k_ifd": k_ifd.hex(), "k_icc": k_icc.hex(),
            "mutual_authenticate": cmd.encode().hex(), "card_cryptogram": card.response.hex(),
            "steps": steps}


def main() -> None:
    (HERE / "kdf_sp800_108_cmac.json").write_text(json.dumps(kdf_vectors(), indent=1) + "\n")
    for cipher in SymmetricCipher:
        path = HERE / f"sm_{cipher.value.lower()}.json"
        path.write_text(json.dumps(sm_vectors(cipher), indent=1) + "\n")


if __name__ == "__main__":
    main()
