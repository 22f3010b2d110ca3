"""`python -m cardsvc.cli ...`, the same as the `cardsvc` command."""

import sys

from cardsvc.cli import main

sys.exit(main())
