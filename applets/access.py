"""Security state per logical channel and the access-condition check (ISO 7816-4 §5.4, §7.4.3).

A security module (applets/security, a later issue) authenticates keys into `SecurityState` and sets
`sm_active` when a secure-messaging session is up; this module only consults them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from applets.errors import SwError
from applets.fs import FileNode
from cardsvc.iso7816.fcp import AccessCondition, LifeCycle
from cardsvc.iso7816.sw import SW

# Operations a deactivated file still accepts (ISO 7816-9 ACTIVATE / TERMINATE / DELETE FILE).
_DEACTIVATED_OPS = frozenset({0x10, 0x20, 0x40})
_DELETE = 0x40  # EfOp.DELETE / DfOp.DELETE: DELETE FILE (self)
_DELETE_CHILD = 0x01  # DfOp.DELETE_CHILD: DELETE FILE (child), in the parent DF's attributes


@dataclass
class SecurityState:
    """Volatile security status of one logical channel; cleared on reset and on a change of application."""

    authenticated: set[int] = field(default_factory=set)
    sm_active: bool = False
    # Scratch space for a security module (challenge, session keys): cleared with the rest.
    extra: dict[str, object] = field(default_factory=dict)

    def is_authenticated(self, key_ref: int) -> bool:
        return key_ref in self.authenticated

    def grant(self, key_ref: int) -> None:
        if not 1 <= key_ref <= 14:
            raise ValueError(f"key_ref must be 1..14, got {key_ref}")
        self.authenticated.add(key_ref)

    def clear(self) -> None:
        self.authenticated.clear()
        self.sm_active = False
        self.extra.clear()


_PRE_OPERATIONAL = (LifeCycle.CREATION, LifeCycle.INITIALISATION)


def enforced(node: FileNode) -> bool:
    """Access rules bind from the operational state on (ISO 7816-4 §7.4.10). While a file, or a DF above
    it, is in creation or initialisation it can still be personalised; one ACTIVATE FILE on that DF then
    locks the whole subtree."""
    return all(item.lifecycle not in _PRE_OPERATIONAL for item in node.chain())


def check_lifecycle(node: FileNode, op: int) -> None:
    """Refuse an operation on a file that is (or sits under a DF that is) deactivated or terminated."""
    for item in node.chain():
        if item.lifecycle == LifeCycle.TERMINATED and op != _DELETE:
            raise SwError(SW.CONDITIONS_OF_USE_NOT_SATISFIED, f"{item.describe()} is terminated")
        if item.lifecycle == LifeCycle.DEACTIVATED and not (item is node and op in _DEACTIVATED_OPS):
            raise SwError(SW.CONDITIONS_OF_USE_NOT_SATISFIED, f"{item.describe()} is deactivated")


def check_condition(cond: AccessCondition, state: SecurityState, secured: bool, what: str) -> None:
    if cond.never:
        raise SwError(SW.SECURITY_STATUS_NOT_SATISFIED, f"{what}: never allowed")
    if cond.key_ref is not None and not state.is_authenticated(cond.key_ref):
        raise SwError(SW.SECURITY_STATUS_NOT_SATISFIED, f"{what}: key {cond.key_ref} not authenticated")
    if cond.sm and not (secured and state.sm_active):
        raise SwError(SW.SECURITY_STATUS_NOT_SATISFIED, f"{what}: only under secure messaging")


def check_access(node: FileNode, op: int, state: SecurityState, secured: bool, op_name: str) -> None:
    """Lifecycle, then the file's rule for `op` (an `EfOp`/`DfOp` bit); raise 6982/6985 when refused.

    A file created without security attributes (no tag 8C) has no restrictions.
    """
    check_lifecycle(node, op)
    if node.security is None or not enforced(node):
        return
    check_condition(node.security.condition(op), state, secured, f"{op_name} {node.describe()}")


def check_delete(node: FileNode, state: SecurityState, secured: bool) -> None:
    """DELETE FILE: the parent DF's DELETE FILE (child) rule or the file's own DELETE FILE (self) rule
    (ISO 7816-4 §7.4.3 table 16, AM byte b1 and b7 of a DF) must be met, whichever of them binds.

    The parent's rule is how an issuer keeps authority over what it created (the MF's rule names the
    issuer key, so the station can wipe an application and issue again) without every file having to
    name that key; a file's own rule can open its deletion to another party. A file still in
    personalization under an activated parent is governed by the parent's rule alone.
    """
    check_lifecycle(node, _DELETE)
    what = f"DELETE FILE {node.describe()}"
    rules = []
    parent = node.parent
    if parent is not None and parent.security is not None and enforced(parent):
        rules.append(parent.security.condition(_DELETE_CHILD))
    if node.security is not None and enforced(node):
        rules.append(node.security.condition(_DELETE))
    refusal: SwError | None = None
    for cond in rules:
        try:
            check_condition(cond, state, secured, what)
        except SwError as exc:
            refusal = refusal or exc
        else:
            return
    if refusal is not None:
        raise refusal
