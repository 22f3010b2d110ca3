"""The vpcd bridge against a fake vpcd server on a random loopback port (never 35963/35964)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from applets.fs import TransparentEf
from cardsvc.iso7816.apdu import CommandApdu
from cardsvc.iso7816.fcp import ALWAYS, EfOp, Fcp, FileStructure
from cardsvc.iso7816.fcp import SecurityAttributes as SA
from simulator import VirtualCard
from simulator.vpcd import VpcdBridge

REPO = Path(__file__).resolve().parents[2]


class FakeVpcd:
    """The server side of the vpcd protocol, as pcscd's vpcd driver speaks it."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(10)
        self.port = self.server.getsockname()[1]

    def accept(self) -> socket.socket:
        conn, _ = self.server.accept()
        conn.settimeout(10)
        return conn

    @staticmethod
    def send(conn: socket.socket, payload: bytes, trickle: bool = False) -> None:
        raw = len(payload).to_bytes(2, "big") + payload
        if not trickle:
            conn.sendall(raw)
            return
        for i in range(len(raw)):  # one byte per segment: the card must loop on partial reads
            conn.sendall(raw[i : i + 1])
            time.sleep(0.001)

    @staticmethod
    def recv(conn: socket.socket) -> bytes:
        def exact(n: int) -> bytes:
            buf = b""
            while len(buf) < n:
                chunk = conn.recv(n - len(buf))
                if not chunk:
                    raise ConnectionError("card closed the socket")
                buf += chunk
            return buf

        return exact(int.from_bytes(exact(2), "big"))

    def transmit(self, conn: socket.socket, apdu: bytes, trickle: bool = False) -> bytes:
        self.send(conn, apdu, trickle)
        return self.recv(conn)

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def vpcd() -> Iterator[FakeVpcd]:
    server = FakeVpcd()
    yield server
    server.close()


def start(bridge: VpcdBridge) -> threading.Thread:
    thread = threading.Thread(target=bridge.run, daemon=True)
    thread.start()
    return thread


def card_with_file() -> VirtualCard:
    card = VirtualCard.blank()
    card.power_on()
    fcp = Fcp(0x0E01, FileStructure.TRANSPARENT, size=4000, sfi=1, security=SA({op: ALWAYS for op in EfOp}))
    assert card.process(CommandApdu(0, 0xE0, 0, 0, fcp.encode()).encode())[-2:] == b"\x90\x00"
    card.power_off()
    return card


def test_protocol_atr_power_apdu_partial_reads(vpcd: FakeVpcd, tmp_path: Path) -> None:
    card = card_with_file()
    image = tmp_path / "card.cbor"
    bridge = VpcdBridge(card, port=vpcd.port, image_path=image)
    thread = start(bridge)
    conn = vpcd.accept()
    vpcd.send(conn, b"\x04")
    assert vpcd.recv(conn) == card.atr
    vpcd.send(conn, b"\x01")  # power on: no reply
    assert vpcd.transmit(conn, bytes.fromhex("00A4000C020E01"), trickle=True) == b"\x90\x00"
    payload = os.urandom(3000)
    update = CommandApdu(0, 0xD6, 0, 0, payload).encode()  # extended APDU through the bridge
    assert vpcd.transmit(conn, update) == b"\x90\x00"
    assert vpcd.transmit(conn, CommandApdu(0, 0xB0, 0, 0, le=65536).encode()) == payload + bytes(1000) + b"\x90\x00"
    deadline = time.monotonic() + 5
    while not image.exists() and time.monotonic() < deadline:  # saved once the line goes quiet
        time.sleep(0.01)
    assert VirtualCard.load(image).to_bytes() == card.to_bytes()
    vpcd.send(conn, b"\x02")  # reset: no reply, selection gone
    assert vpcd.transmit(conn, bytes.fromhex("00B0000001")) == b"\x69\x86"
    vpcd.send(conn, b"\x00")  # power off: a powered-off card answers nothing (length 0)
    assert vpcd.transmit(conn, bytes.fromhex("00B0000001")) == b""
    bridge.stop()
    thread.join(5)
    assert not thread.is_alive()
    assert conn.recv(1) == b""  # socket closed by the card


def test_remove_insert_and_reconnect(vpcd: FakeVpcd) -> None:
    bridge = VpcdBridge(VirtualCard.blank(), port=vpcd.port, retry_interval=0.02)
    thread = start(bridge)
    conn = vpcd.accept()
    vpcd.send(conn, b"\x01")
    assert vpcd.transmit(conn, bytes.fromhex("00A4000C023F00")) == b"\x90\x00"
    bridge.remove()
    assert conn.recv(1) == b""  # removal = socket closed
    assert not bridge.inserted
    bridge.insert()
    conn2 = vpcd.accept()
    vpcd.send(conn2, b"\x04")
    assert vpcd.recv(conn2) == bridge.card.atr
    conn2.close()  # vpcd restarts: the card reconnects by itself
    conn3 = vpcd.accept()
    vpcd.send(conn3, b"\x01")
    assert vpcd.transmit(conn3, bytes.fromhex("00A4000C023F00")) == b"\x90\x00"
    bridge.stop()
    thread.join(5)
    assert not thread.is_alive()


def test_waits_for_vpcd_to_come_up() -> None:
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens on `port` now
    bridge = VpcdBridge(VirtualCard.blank(), port=port, retry_interval=0.02)
    thread = start(bridge)
    time.sleep(0.1)
    assert not bridge.connected.is_set()
    server = socket.create_server(("127.0.0.1", port))
    server.settimeout(10)
    conn, _ = server.accept()
    FakeVpcd.send(conn, b"\x04")
    assert FakeVpcd.recv(conn) == bridge.card.atr
    bridge.stop()
    thread.join(5)
    server.close()
    assert not thread.is_alive()


def test_two_cards_in_two_readers() -> None:
    readers = [FakeVpcd(), FakeVpcd()]
    cards = [card_with_file(), card_with_file()]
    bridges = [VpcdBridge(card, port=r.port) for card, r in zip(cards, readers, strict=True)]
    threads = [start(b) for b in bridges]
    conns = [r.accept() for r in readers]
    for i, (reader, conn) in enumerate(zip(readers, conns, strict=True)):
        reader.send(conn, b"\x01")
        assert reader.transmit(conn, bytes.fromhex("00D6810001") + bytes((i,))) == b"\x90\x00"
    for i, (reader, conn) in enumerate(zip(readers, conns, strict=True)):
        assert reader.transmit(conn, bytes.fromhex("00B0810001")) == bytes((i,)) + b"\x90\x00"
    for bridge, thread, reader in zip(bridges, threads, readers, strict=True):
        bridge.stop()
        thread.join(5)
        reader.close()
        assert not thread.is_alive()


def test_cli_sigusr1_toggles_and_sigterm_saves(vpcd: FakeVpcd, tmp_path: Path) -> None:
    image = tmp_path / "card.json"
    proc = subprocess.Popen([sys.executable, "-m", "simulator", "--port", str(vpcd.port), "--card", str(image)],
                            cwd=REPO, stderr=subprocess.PIPE)
    try:
        conn = vpcd.accept()
        assert image.exists()  # a missing image starts a blank card, saved at once
        vpcd.send(conn, b"\x01")
        fcp = Fcp(0x0E05, FileStructure.TRANSPARENT, size=2, security=SA({EfOp.READ: ALWAYS}))
        assert vpcd.transmit(conn, CommandApdu(0, 0xE0, 0, 0, fcp.encode()).encode()) == b"\x90\x00"
        proc.send_signal(signal.SIGUSR1)
        assert conn.recv(1) == b""
        proc.send_signal(signal.SIGUSR1)
        conn = vpcd.accept()
        vpcd.send(conn, b"\x01")
        assert vpcd.transmit(conn, bytes.fromhex("00A4000C020E05")) == b"\x90\x00"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    card = VirtualCard.load(image)
    assert card.state.mf.child(0x0E05) is not None


def test_cli_power_cut_pulls_the_card(vpcd: FakeVpcd, tmp_path: Path) -> None:
    image = tmp_path / "card.cbor"
    card_with_file().save(image)
    proc = subprocess.Popen([sys.executable, "-m", "simulator", "--port", str(vpcd.port), "--card", str(image),
                             "--cut-power", "1:middle:1"], cwd=REPO, stderr=subprocess.PIPE)
    try:
        conn = vpcd.accept()
        vpcd.send(conn, b"\x01")
        assert vpcd.transmit(conn, bytes.fromhex("00A4000C020E01")) == b"\x90\x00"
        vpcd.send(conn, CommandApdu(0, 0xD6, 0, 0, b"\xee" * 200).encode())
        assert conn.recv(1) == b""  # pulled mid-write: no answer, socket closed
        proc.send_signal(signal.SIGUSR1)  # put it back
        conn = vpcd.accept()
        vpcd.send(conn, b"\x01")
        assert vpcd.transmit(conn, bytes.fromhex("00A4000C020E01")) == b"\x90\x00"
        assert vpcd.transmit(conn, bytes.fromhex("00B0000000")) == b"\xee" * 64 + bytes(192) + b"\x90\x00"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    ef = VirtualCard.load(image).state.mf.child(0x0E01)
    assert isinstance(ef, TransparentEf) and bytes(ef.data[:65]) == b"\xee" * 64 + b"\x00"


def test_cli_rejects_bad_arguments(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    run = subprocess.run([sys.executable, "-m", "simulator", "--port", "1", "--card", str(bad)], cwd=REPO,
                         capture_output=True, text=True, timeout=30)
    assert run.returncode == 2 and "image.format" in run.stderr
    run = subprocess.run([sys.executable, "-m", "simulator", "--cut-power", "x:later"], cwd=REPO,
                         capture_output=True, text=True, timeout=30)
    assert run.returncode == 2 and "--cut-power" in run.stderr
