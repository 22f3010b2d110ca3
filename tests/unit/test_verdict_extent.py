"""Reading a TLV file to the exact end of its data: no byte twice, little padding, clear errors."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cardsvc.iso7816.errors import TlvError
from cardsvc.iso7816.tlv import encode_tlv
from cardsvc.verification.extent import MAX_HEADER, read_extent


class FakeFile:
    """A transparent EF of `capacity` bytes: `data` then `pad` bytes; records every read."""

    def __init__(self, data: bytes, capacity: int, pad: int = 0x00, *, ends_at: int | None = None) -> None:
        self.body = data + bytes([pad]) * (capacity - len(data))
        self.end = capacity if ends_at is None else ends_at  # a card whose file is shorter than declared
        self.calls: list[tuple[int, int]] = []

    def read(self, offset: int, length: int) -> bytes:
        self.calls.append((offset, length))
        return self.body[offset : min(offset + length, self.end)]

    def assert_contiguous(self) -> None:
        at = 0
        for offset, length in self.calls:
            assert offset == at, f"read at {offset}, expected {at}: a byte read twice or skipped"
            at += length


VISIBLE = (encode_tlv(0x5F20, "阿依古丽·吐尔逊".encode()) + encode_tlv(0x5F35, b"2") + encode_tlv(0xDF01, b"\x05")
           + encode_tlv(0xDF03, "新疆喀什市".encode() * 5) + encode_tlv(0x5F24, b"20251001"))


@pytest.mark.parametrize("pad", [0x00, 0xFF])
def test_several_objects_end_at_the_padding(pad: int) -> None:
    f = FakeFile(VISIBLE, 512, pad)
    extent = read_extent(f.read, 512, single=False, lookahead=16)
    assert extent.content == VISIBLE
    f.assert_contiguous()
    assert 0 < extent.overread <= 16 + MAX_HEADER
    assert extent.read == sum(n for _, n in f.calls)


def test_one_object_is_read_as_header_and_rest_and_nothing_after() -> None:
    photo = encode_tlv(0xDF20, b"\xff\xd8" + bytes(range(256)) * 40 + b"\xff\xd9")
    f = FakeFile(photo, 32768)
    extent = read_extent(f.read, 32768, single=True)
    assert extent.content == photo and extent.overread == 0 and extent.commands == 2
    f.assert_contiguous()


def test_a_known_first_size_reads_a_one_object_file_in_one_command() -> None:
    der = encode_tlv(0x30, bytes(89))  # 91 bytes, the size of a P-256 SubjectPublicKeyInfo
    f = FakeFile(der, 160)
    extent = read_extent(f.read, 160, single=True, first=91)
    assert extent.content == der and extent.commands == 1 and extent.overread == 0


def test_a_full_file_is_read_to_its_end_and_never_beyond() -> None:
    data = encode_tlv(0xDF30, b"4101000000000071") + encode_tlv(0xDF31, bytes(44))
    f = FakeFile(data, len(data))
    extent = read_extent(f.read, len(data), single=False, lookahead=32)
    assert extent.content == data and extent.overread == 0
    assert all(offset + length <= len(data) for offset, length in f.calls)


@pytest.mark.parametrize("capacity", [0, 64])
def test_an_empty_file(capacity: int) -> None:
    f = FakeFile(b"", capacity)
    assert read_extent(f.read, capacity, single=False).content == b""


def test_an_object_longer_than_the_file_is_refused_with_its_offset() -> None:
    data = encode_tlv(0x5F20, b"abc") + bytes((0xDF, 0x03, 0x82, 0x10, 0x00))
    with pytest.raises(TlvError) as info:
        read_extent(FakeFile(data, 64).read, 64, single=False)
    assert info.value.offset == 6 and "runs past the end" in str(info.value)


def test_a_card_that_ends_the_file_inside_an_object_is_refused() -> None:
    data = encode_tlv(0xDF20, bytes(300))
    f = FakeFile(data, 1024, ends_at=100)
    with pytest.raises(TlvError, match="inside the data object"):
        read_extent(f.read, 1024, single=True)


def test_a_malformed_header_is_refused() -> None:
    data = bytes((0x5F, 0x20, 0x84, 1, 2, 3, 4))  # a four-byte length field: more than ISO 7816-4 allows
    with pytest.raises(TlvError):
        read_extent(FakeFile(data, 64).read, 64, single=False)


_objects = st.lists(st.tuples(st.sampled_from([0x5F20, 0x5F35, 0xDF01, 0xDF04, 0x30, 0x53]),
                              st.binary(max_size=300)), max_size=6)


@settings(max_examples=150, deadline=None)
@given(objects=_objects, spare=st.integers(0, 200), lookahead=st.integers(1, 64), pad=st.sampled_from([0, 0xFF]))
def test_any_file_is_read_exactly_once_with_bounded_padding(objects: list[tuple[int, bytes]], spare: int,
                                                            lookahead: int, pad: int) -> None:
    data = b"".join(encode_tlv(tag, value) for tag, value in objects)
    f = FakeFile(data, len(data) + spare, pad)
    extent = read_extent(f.read, len(data) + spare, single=False, lookahead=lookahead)
    assert extent.content == data
    f.assert_contiguous()
    assert extent.overread <= lookahead + MAX_HEADER


@settings(max_examples=150, deadline=None)
@given(raw=st.binary(max_size=120), capacity=st.integers(0, 160), single=st.booleans())
def test_garbage_either_reads_or_raises_tlv_error(raw: bytes, capacity: int, single: bool) -> None:
    f = FakeFile(raw[:capacity], capacity)
    try:
        extent = read_extent(f.read, capacity, single=single, lookahead=8)
    except TlvError:
        return
    assert f.body.startswith(extent.content)
    f.assert_contiguous()
