"""An independent PC/SC client, OpenSC's ``opensc-tool``, selects and reads a file on the virtual card.

Proves the virtual card is an ordinary card in an ordinary reader, not something only our host code
understands.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable

import pytest

from cardsvc.iso7816.fcp import Fcp, FileStructure
from cardsvc.session import CardSession
from devtools.pcsc_stack import SimulatorCard, in_ci, opensc_tool
from simulator import InProcessConnection, VirtualCard

CONTENT = "居住证 opensc OK!".encode()  # 20 bytes: three CJK characters in UTF-8, then ASCII
HEX_BYTE = re.compile(r"[0-9A-F]{2}")


@pytest.fixture
def tool() -> str:
    path = opensc_tool()
    if path is None:
        if in_ci():
            pytest.fail("CI=true but opensc-tool is missing (apt package opensc)", pytrace=False)
        pytest.skip("opensc-tool not installed (apt package opensc)")
    return path


def received(output: str) -> list[tuple[str, bytes]]:
    """(SW, data) for each 'Received (SW1=0x.., SW2=0x..)' block of opensc-tool's output.

    Data lines are a hex dump: up to 16 'XX' tokens, then the ASCII rendering.
    """
    blocks: list[tuple[str, bytes]] = []
    data = bytearray()
    for line in output.splitlines():
        header = re.match(r"Received \(SW1=0x([0-9a-fA-F]{2}), SW2=0x([0-9a-fA-F]{2})\)", line)
        if header:
            data = bytearray()
            blocks.append(((header.group(1) + header.group(2)).upper(), b""))
            continue
        if not blocks or line.startswith("Sending:"):
            continue
        tokens = line.split(" ")
        count = 0
        while count < min(16, len(tokens)) and HEX_BYTE.fullmatch(tokens[count]):
            count += 1
        data.extend(bytes.fromhex("".join(tokens[:count])))
        blocks[-1] = (blocks[-1][0], bytes(data))
    return blocks


def test_opensc_tool_selects_and_reads_a_file(insert_card: Callable[..., SimulatorCard], tool: str) -> None:
    card = VirtualCard.blank()
    with CardSession(InProcessConnection(card)) as session:  # personalised in-process, read via PC/SC
        session.create_file(Fcp(0xEF10, FileStructure.TRANSPARENT, size=len(CONTENT), sfi=16))
        session.update_binary(CONTENT, sfi=16)
    sim = insert_card(card)
    result = subprocess.run(
        [tool, "--reader", sim.reader,
         "--send-apdu", "00 A4 00 0C 02 EF 10",  # SELECT EF 10 under the MF, no response data
         "--send-apdu", "00 B0 00 00 14",  # READ BINARY 20 bytes of the current EF
         "--send-apdu", "00 B0 90 04 00"],  # READ BINARY by SFI 16 from offset 4, Le '00'
        capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert received(result.stdout) == [("9000", b""), ("9000", CONTENT), ("9000", CONTENT[4:])]
