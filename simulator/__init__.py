"""The virtual card runtime: VirtualCard, card images, fault injection, in-process and vpcd transports."""

from simulator.card import DEFAULT_ATR, VirtualCard, blank_state, build_atr
from simulator.faults import PowerCut, When
from simulator.transport import CardMuteError, InProcessConnection, TearingConnection

__all__ = ["DEFAULT_ATR", "CardMuteError", "InProcessConnection", "PowerCut", "TearingConnection", "VirtualCard",
           "When", "blank_state", "build_atr"]
