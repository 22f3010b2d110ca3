"""The log level of APDU traffic, one constant for host, card OS and simulator (design §8).

Level 5, below DEBUG: traffic is logged only when asked for explicitly. Named "TRAFFIC" here; a server
that renames level 5 (uvicorn calls it TRACE) does not change the number, which is what filters use.
"""

from __future__ import annotations

import logging

TRAFFIC = 5
logging.addLevelName(TRAFFIC, "TRAFFIC")
