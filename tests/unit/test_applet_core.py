"""Pure unit tests of the card OS building blocks: NVM paging, record slots, CLA decoding, access checks."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from applets.access import SecurityState, check_access, check_condition
from applets.cardos import decode_cla
from applets.commands.admin import build_file
from applets.errors import PowerLoss, SwError
from applets.fs import DedicatedFile, RecordEf, TransparentEf, find_by_name
from applets.nvm import Nvm
from cardsvc.iso7816.fcp import ALWAYS, NEVER, AccessCondition, EfOp, Fcp, FileStructure, LifeCycle, SecurityAttributes
from cardsvc.iso7816.sw import SW


class CutAt:
    def __init__(self, index: int, pages: int) -> None:
        self.index, self.pages = index, pages

    def on_write(self, index: int, pages: int) -> tuple[int, bool]:
        return (self.pages, True) if index == self.index else (pages, False)


@pytest.mark.parametrize(("offset", "length", "pages"),
                         [(0, 1, 1), (0, 64, 1), (0, 65, 2), (63, 2, 2), (64, 64, 1), (10, 200, 4), (5, 0, 0)])
def test_pages_spanned(offset: int, length: int, pages: int) -> None:
    assert Nvm(64).pages_spanned(offset, length) == pages


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 300), st.integers(1, 300), st.integers(0, 8))
def test_torn_write_is_a_page_aligned_prefix(offset: int, length: int, allowed: int) -> None:
    nvm = Nvm(32)
    buf = bytearray(700)
    nvm.hook = CutAt(1, allowed)
    with pytest.raises(PowerLoss):
        nvm.write(buf, offset, b"\xff" * length)
    written = bytes(buf).count(b"\xff")
    total_pages = nvm.pages_spanned(offset, length)
    if allowed >= total_pages:
        assert written == length
    else:
        end = (offset // 32 + allowed) * 32
        assert written == max(0, end - offset)
        assert buf[offset : offset + written] == b"\xff" * written


def test_commit_runs_only_when_every_page_is_written() -> None:
    nvm = Nvm(16)
    done: list[int] = []
    nvm.hook = CutAt(1, 2)  # 40 payload bytes = 3 pages + commit page: 2 is not enough
    with pytest.raises(PowerLoss):
        nvm.commit(lambda: done.append(1), payload=40)
    nvm.commit(lambda: done.append(2), payload=40)
    assert done == [2] and nvm.writes == 2


def test_cyclic_slot_order() -> None:
    ef = RecordEf(1, FileStructure.CYCLIC, 1, 3)
    for value in b"abcde":
        if ef.count < ef.max_records:
            ef.slots.append(bytearray((value,)))
            ef.head = ef.count - 1
        else:
            ef.head = (ef.head + 1) % ef.count
            ef.slots[ef.head][0] = value
    assert [bytes(ef.record(n) or b"") for n in (1, 2, 3)] == [b"e", b"d", b"c"]
    assert ef.record(4) is None and ef.record(0) is None


def test_tree_lookups() -> None:
    mf = DedicatedFile(0x3F00)
    adf = DedicatedFile(0xA000, bytes.fromhex("D1560001"))
    mf.attach(adf)
    ef = TransparentEf(0x0101, 4, sfi=5)
    adf.attach(ef)
    assert adf.child_by_sfi(5) is ef and adf.child_by_sfi(6) is None
    assert ef.parent is adf and adf.application is adf and mf.application is mf
    assert find_by_name(mf, bytes.fromhex("D156")) == [adf]
    assert find_by_name(mf, bytes.fromhex("D156"), partial=False) == []
    assert list(ef.chain()) == [ef, adf, mf]


@pytest.mark.parametrize(("cla", "decoded"), [
    (0x00, (0, False, False, False)), (0x13, (3, False, True, False)), (0x0C, (0, True, False, False)),
    (0x41, (5, False, False, False)), (0x70, (4, True, True, False)), (0x80, (0, False, False, True)),
    (0x84, (0, True, False, True)),
])
def test_decode_cla(cla: int, decoded: tuple[int, bool, bool, bool]) -> None:
    assert decode_cla(cla) == decoded


@pytest.mark.parametrize("cla", [0x20, 0x3F, 0xFF])
def test_reserved_cla(cla: int) -> None:
    with pytest.raises(SwError) as info:
        decode_cla(cla)
    assert info.value.sw == SW.CLA_NOT_SUPPORTED


def test_access_conditions() -> None:
    state = SecurityState()
    key = AccessCondition(key_ref=4)
    both = AccessCondition(key_ref=4, sm=True)
    for cond in (NEVER, key, both):
        with pytest.raises(SwError, match="6982"):
            check_condition(cond, state, secured=True, what="READ")
    state.grant(4)
    check_condition(key, state, secured=False, what="READ")
    with pytest.raises(SwError, match="secure messaging"):
        check_condition(both, state, secured=True, what="READ")  # SM flagged on the command, no session
    state.sm_active = True
    check_condition(both, state, secured=True, what="READ")
    state.clear()
    assert not state.is_authenticated(4) and not state.sm_active


def test_lifecycle_gates_access() -> None:
    rules = SecurityAttributes({EfOp.READ: AccessCondition(key_ref=1)})
    ef = TransparentEf(1, 4, lifecycle=LifeCycle.INITIALISATION, security=rules)
    state = SecurityState()
    check_access(ef, EfOp.UPDATE, state, False, "UPDATE")  # personalisation: rules not yet binding
    ef.lifecycle = LifeCycle.ACTIVATED
    with pytest.raises(SwError, match="6982"):
        check_access(ef, EfOp.UPDATE, state, False, "UPDATE")
    ef.lifecycle = LifeCycle.DEACTIVATED
    with pytest.raises(SwError, match="6985"):
        check_access(ef, EfOp.READ, state, False, "READ")


@pytest.mark.parametrize(("fcp", "reason"), [
    (Fcp(None, FileStructure.TRANSPARENT, size=1), "identifier"),
    (Fcp(0x3FFF, FileStructure.TRANSPARENT, size=1), "reserved"),
    (Fcp(0x0001, FileStructure.TRANSPARENT), "size"),
    (Fcp(0x0001, FileStructure.DF, sfi=3), "short EF"),
    (Fcp(0x0001, FileStructure.TRANSPARENT, size=1, df_name=b"x"), "DF name"),
    (Fcp(0x0001, FileStructure.CYCLIC, record_length=1, record_count=300), "records"),
    (Fcp(0x0001, FileStructure.TRANSPARENT, size=1, lifecycle=LifeCycle.TERMINATED), "life-cycle"),
])
def test_build_file_refuses_what_it_cannot_honour(fcp: Fcp, reason: str) -> None:
    with pytest.raises(SwError, match=reason) as info:
        build_file(fcp)
    assert info.value.sw == SW.INCORRECT_DATA


def test_activating_a_df_locks_its_subtree() -> None:
    adf = DedicatedFile(0xA000, b"\xd1\x56", lifecycle=LifeCycle.INITIALISATION)
    ef = TransparentEf(1, 4, security=SecurityAttributes({EfOp.READ: ALWAYS}))  # activated, no UPDATE rule
    adf.attach(ef)
    state = SecurityState()
    check_access(ef, EfOp.UPDATE, state, False, "UPDATE")  # the ADF is still being personalised
    adf.lifecycle = LifeCycle.ACTIVATED
    with pytest.raises(SwError, match="6982"):
        check_access(ef, EfOp.UPDATE, state, False, "UPDATE")
    check_access(ef, EfOp.READ, state, False, "READ")
