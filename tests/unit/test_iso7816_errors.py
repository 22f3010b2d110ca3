import pytest

from cardsvc.iso7816 import errors as e
from cardsvc.iso7816.sw import SW, sw_name


@pytest.mark.parametrize(
    ("sw", "cls", "text"),
    [
        (0x6A82, e.FileNotFound, "6A82 FILE_NOT_FOUND"),
        (0x6982, e.SecurityStatusNotSatisfied, "6982 SECURITY_STATUS_NOT_SATISFIED"),
        (0x6700, e.WrongLength, "6700 WRONG_LENGTH"),
        (0x6983, e.AuthMethodBlocked, "6983 AUTHENTICATION_METHOD_BLOCKED"),
        (0x6988, e.SecureMessagingError, "6988 SM_DATA_OBJECTS_INCORRECT"),
        (0x6A84, e.NotEnoughMemory, "6A84 NOT_ENOUGH_MEMORY"),
        (0x6C10, e.WrongLe, "6C10 WRONG_LE_EXACT_16"),
        (0x63C2, e.VerificationFailed, "63C2 VERIFICATION_FAILED_2_RETRIES_LEFT"),
        (0x6D00, e.InsNotSupported, "6D00 INS_NOT_SUPPORTED"),
        (0x6B00, e.WrongParameters, "6B00 WRONG_P1_P2"),
        (0x6F00, e.ApduError, "6F00 NO_PRECISE_DIAGNOSIS"),
        (0x6A89, e.FileExists, "6A89 FILE_ALREADY_EXISTS"),
    ],
)
def test_from_sw_picks_the_subclass_and_prints_the_name(sw: int, cls: type, text: str) -> None:
    err = e.ApduError.from_sw(sw, context="READ BINARY")
    assert type(err) is cls
    assert isinstance(err, e.CardError)
    assert str(err) == f"READ BINARY: {text}"
    assert err.sw == sw


def test_parametrised_fields() -> None:
    wrong_le = e.ApduError.from_sw(0x6C00)
    assert isinstance(wrong_le, e.WrongLe) and wrong_le.exact_le == 256
    failed = e.ApduError.from_sw(0x63C0)
    assert isinstance(failed, e.VerificationFailed) and failed.retries_left == 0
    assert sw_name(0x6110) == "BYTES_REMAINING_16"
    assert sw_name(0x6399) == "UNKNOWN"
    assert SW(0x9000).name == "OK"
