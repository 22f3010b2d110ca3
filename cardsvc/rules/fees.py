"""Fees: SMX Art.20, ZZ Art.15.  First issue and endorsement free; replacement (补领) and renewal
(换领) charged the card fee.  Correction (ZZ Art.27) is not listed as charged: free."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from cardsvc.rules.city import CityRules


class CardEvent(StrEnum):
    FIRST_ISSUE = "first_issue"
    ENDORSEMENT = "endorsement"
    REPLACEMENT = "replacement"  # 补领 after loss
    RENEWAL = "renewal"  # 换领 of a damaged card, old card returned
    CORRECTION = "correction"  # ZZ Art.27


@dataclass(frozen=True)
class Fee:
    event: CardEvent
    amount_fen: int
    article: str


_ARTICLES = {
    CardEvent.FIRST_ISSUE: "SMX Art.20 ¶1 / ZZ Art.15: 首次申领免收工本费",
    CardEvent.ENDORSEMENT: "SMX Art.20 ¶1: 签注不得收取费用",
    CardEvent.REPLACEMENT: "SMX Art.20 ¶2 / ZZ Art.15: 补领缴纳工本费",
    CardEvent.RENEWAL: "SMX Art.20 ¶2 / ZZ Art.15: 换领缴纳工本费",
    CardEvent.CORRECTION: "ZZ Art.27: 更正 (no fee stated)",
}

_CHARGED = frozenset({CardEvent.REPLACEMENT, CardEvent.RENEWAL})


def fee_for(rules: CityRules, event: CardEvent) -> Fee:
    charged = event in _CHARGED or (event is CardEvent.FIRST_ISSUE and not rules.first_issue_free)
    amount = rules.card_fee_fen if charged else 0
    return Fee(event, amount, _ARTICLES[event])
