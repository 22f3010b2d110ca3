"""Issued virtual cards for the department-record tests, and sample values for every declared record."""

from __future__ import annotations

from cardsvc.departments.record import record_efs
from cardsvc.issuance.jobs import IssuanceService
from cardsvc.issuance.keys import StationKeys
from cardsvc.layout import Layout
from cardsvc.layout.entries import EfDecl, Encoding
from cardsvc.session import CardSession
from simulator import VirtualCard
from simulator.transport import InProcessConnection
from tests.issuance_support import ACTOR, Registry, blank_card, register, request_for, sample_permit, variant


def issued_card(keys: StationKeys, registry: Registry, layout: Layout, n: int) -> VirtualCard:
    factory = registry.fresh()
    permit = variant(sample_permit(layout, 4000 + n), layout, n)
    register(factory, permit, layout)
    card = blank_card()
    assert IssuanceService(factory, ACTOR, keys).issue(request_for(permit, layout),
                                                       CardSession(InProcessConnection(card))).issued
    return card


def departments_with_records(layout: Layout) -> list[str]:
    return [df.department for df in layout.dfs if df.department and record_efs(layout, df.department)]


def sample_values(ef: EfDecl, variant_no: int) -> dict[str, str]:
    """A full set of values for `ef`, different for each `variant_no`."""
    out: dict[str, str] = {}
    for f in ef.fields:
        if f.encoding is Encoding.NUMERIC:
            assert f.digits is not None
            out[f.field] = ("20250901" if f.digits == 8 else str(variant_no % 10 ** f.digits)).zfill(f.digits)
        elif f.encoding is Encoding.TEXT:
            out[f.field] = f"郑州第{variant_no}学校"
        else:
            out[f.field] = f"REC-{variant_no:04d}"
    return out
