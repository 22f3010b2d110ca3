"""Access rules written in layouts ("always", "never", "key:NAME", "sm", "sm+key:NAME") to ISO 7816-4
compact security attributes (§7.4.3) for the FCP of each file."""

from __future__ import annotations

from collections.abc import Mapping

from cardsvc.iso7816.fcp import AccessCondition, DfOp, EfOp, SecurityAttributes

EF_OPS: dict[str, int] = {op.name.lower(): int(op) for op in EfOp if op.name}
DF_OPS: dict[str, int] = {op.name.lower(): int(op) for op in DfOp if op.name}


def parse_condition(text: str, keys: Mapping[str, int]) -> AccessCondition:
    """One condition; `keys` maps key names to their key reference. Raises ValueError with the reason."""
    if text == "always":
        return AccessCondition()
    if text == "never":
        return AccessCondition(never=True)
    sm = False
    key_ref: int | None = None
    for part in text.split("+"):
        if part == "sm" and not sm:
            sm = True
        elif part.startswith("key:") and key_ref is None:
            name = part[4:]
            if name not in keys:
                raise ValueError(f"access condition {text!r} names unknown key {name!r}")
            key_ref = keys[name]
        else:
            raise ValueError(f"access condition {text!r}: {part!r} is not 'sm' or 'key:NAME' "
                             f"(or the whole is 'always'/'never')")
    return AccessCondition(key_ref=key_ref, sm=sm)


def security_attributes(access: Mapping[str, str], keys: Mapping[str, int], is_df: bool) -> SecurityAttributes:
    """Operations not named are NEVER (fail closed), so they are left out of the compact form."""
    ops = DF_OPS if is_df else EF_OPS
    rules: dict[int, AccessCondition] = {}
    for op, text in access.items():
        if op not in ops:
            raise ValueError(f"unknown {'DF' if is_df else 'EF'} operation {op!r} (known: {', '.join(ops)})")
        rules[ops[op]] = parse_condition(text, keys)
    return SecurityAttributes({bit: rules[bit] for bit in sorted(rules, reverse=True)})
