"""Whose status list a counter of a layout takes (design §7, trust scoped to the layout).

Each city registry publishes the list of its own cards: the issuer is the layout's city code (GB/T 2260),
and the list is signed by the document signer of the city's seat authority, the first authority the
layout lists (SMX: 湖滨分局 411202, ZZ: 中原分局 410102). A counter pins both, so a list from another
city, or a "province" list signed by any county's signer, is refused; the service signs with the same.
"""

from __future__ import annotations

from dataclasses import dataclass

from cardsvc.layout.schema import Layout


@dataclass(frozen=True, slots=True)
class ListScope:
    issuer: str  # the city registry (GB/T 2260 city code)
    signer_authority: str  # the authority whose document signer signs the list


def list_scope(layout: Layout) -> ListScope:
    if not layout.authorities:
        raise ValueError(f"layout {layout.id}: no authorities, so no status-list signer")
    return ListScope(layout.layout.city_code, layout.authorities[0].code)
