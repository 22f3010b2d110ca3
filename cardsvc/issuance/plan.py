"""Card image + per-card keys → the ordered list of commands that personalizes a blank card.

The blank card (card stock) comes with an MF in INITIALISATION whose rules name the issuer key: CREATE,
DELETE (child), ACTIVATE, DEACTIVATE, TERMINATE below the MF need that key under secure messaging once
the MF is ACTIVATED (simulator.card.issuer_mf_security; ISO 7816-4 §7.4.10: rules bind from the
operational state on). Write order (what makes a torn card harmless, design §7):

1. EF.DIR in the MF, created in INITIALISATION, records appended, then ACTIVATE FILE.
2. Each department ADF, then the permit ADF last: CREATE FILE of the ADF in INITIALISATION (access rules
   do not bind yet, so its EFs are written without secure messaging), CREATE FILE + one extended-length
   UPDATE BINARY of each EF (whole file, no SELECT: a created EF is the current EF), records appended,
   the ADF's keys loaded.
3. Permit ADF only: the chip generates its key pair inside the permit ADF (ISO/IEC 7816-8 GENERATE
   ASYMMETRIC KEY PAIR; the card refuses it once the ADF is activated), the host writes EF.CHIPKEY, signs
   EF.SOD over the final bytes and writes it last (by SFI).
4. SELECT MF, ACTIVATE FILE of each department ADF; PUT KEY of the per-card issuer key into the MF and
   ACTIVATE FILE of the MF (from here on nothing can be created in or deleted from the MF, nor EF.DIR
   changed, without that key under SM); last ACTIVATE FILE of the permit ADF. That ACTIVATE is the commit
   point: before it the permit ADF is in INITIALISATION (a counter reader refuses it, and a retry deletes
   it, under SM with the issuer key when the MF is already active), after it every rule of the layout binds.

EF.ATR (2F01) belongs to the card manufacturer (ISO 7816-4 §12.2.2): it is on the blank card already and
is neither written nor compared. The MF itself is never created.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace

from cardsvc.iso7816 import commands as cmd
from cardsvc.iso7816.apdu import CommandApdu
from cardsvc.iso7816.commands import MF_FID
from cardsvc.iso7816.fcp import Fcp, LifeCycle, SecurityAttributes
from cardsvc.iso7816.tlv import encode_tlv, tlv_map
from cardsvc.layout.image import CardFile, CardImage
from cardsvc.layout.schema import Layout
from cardsvc.layout.vocabulary import CHIPKEY_EF, PERMIT_DF, SOD_EF
from cardsvc.security.chip import CHIP_KEY_REF as CHIP_KEY_REF  # re-exported: the plan's chip key reference
from cardsvc.security.chip import generate_key_pair_command
from cardsvc.security.kdf import SymmetricCipher, key_store_role
from cardsvc.security.suite import INTL, Suite, layout_suite
from cardsvc.verification.verifier import required_files

EF_ATR_FID = 0x2F01  # card capabilities, written by the card manufacturer

TAG_CIPHER = 0x81  # PUT KEY data objects (see put_key_command)
TAG_RETRIES = 0x82
TAG_KEY = 0x83
CIPHER_AES = 0x01  # PUT KEY cipher bytes of the card OS (applets/security/primitives.py)
CIPHER_SM4 = 0x02
_CIPHER_BYTE = {SymmetricCipher.AES: CIPHER_AES, SymmetricCipher.SM4: CIPHER_SM4}

class PlanError(ValueError):
    """The card image cannot be personalized as given (names the file and the reason)."""


def layout_key_roles(layout: Layout) -> list[str]:
    """Every key-store role the layout needs master keys for (the `keys init` ceremony makes them)."""
    return sorted({key_store_role(k.role) for k in layout.keys.values()})


class Op(enum.StrEnum):
    SELECT_MF = "select-mf"
    CREATE = "create"
    UPDATE = "update"
    APPEND = "append"
    PUT_KEY = "put-key"
    GENERATE_CHIP_KEY = "generate-chip-key"
    WRITE_CHIP_KEY = "write-chip-key"  # content known only after GENERATE
    WRITE_SOD = "write-sod"  # signed over the final bytes, written last
    ACTIVATE = "activate"


@dataclass(frozen=True, slots=True)
class Step:
    """One command of the plan. `apdu` is None for the two steps whose data the card decides."""

    op: Op
    target: str  # layout file name (or key name for PUT_KEY)
    apdu: CommandApdu | None = None
    secret: bool = False  # carries key material: never logged or shown
    unit: str = ""  # the top-level file (EF.DIR or an ADF) this step builds; "" for SELECT MF

    def __repr__(self) -> str:
        size = "dynamic" if self.apdu is None else f"{len(self.apdu.data)} bytes"
        return f"Step({self.op.value} {self.target}, {'<secret>' if self.secret else size})"


@dataclass(frozen=True, slots=True, repr=False)
class KeyLoad:
    df: str  # layout DF name the key lives in (keys are DF-specific: MUTUAL AUTHENTICATE P2 = 80|ref)
    name: str  # layout key name
    ref: int
    retries: int
    value: bytes  # per-card diversified key
    cipher: SymmetricCipher = SymmetricCipher.AES  # the layout suite's block cipher

    def __repr__(self) -> str:  # never print key material
        return f"KeyLoad({self.df}/{self.name} ref {self.ref}, retries {self.retries})"


@dataclass(frozen=True, slots=True)
class Plan:
    image: CardImage
    steps: tuple[Step, ...]
    signed_efs: tuple[str, ...]  # names of the EFs EF.SOD covers (permit ADF, transparent, non-empty)
    card_number: str
    keys: tuple[KeyLoad, ...] = field(repr=False)
    suite: Suite = INTL  # the layout's: chip key algorithm and SM2 signer ID, role-key cipher

    def __iter__(self) -> Iterator[Step]:
        return iter(self.steps)

    def __len__(self) -> int:
        return len(self.steps)

    @property
    def minimum_apdus(self) -> int:
        """The least a writer can send for this image: one CREATE per file, one command per non-empty
        content or record, one per key (the MF's issuer key too), the chip key generation, one ACTIVATE
        per ADF, for EF.DIR and for the MF.
        (SELECT MF between ADFs is the only extra the plan spends; the ratio against this is reported.)"""
        return sum(1 for s in self.steps if s.op is not Op.SELECT_MF)


def card_number_of(image: CardImage, layout: Layout) -> str:
    """The card number as the image encodes it (the field the layout places it in)."""
    placed = layout.permit_fields().get("card_number")
    if not placed:
        raise PlanError(f"card_number: layout {layout.id} has no place for the card number")
    ef, decl = placed[0]
    raw = tlv_map(image.file(ef.name).content or b"").get(decl.tag)
    if raw is None:
        raise PlanError(f"{ef.name}: the image carries no card number (tag {decl.tag:X})")
    return raw.decode("ascii")


# ---------------------------------------------------------------- commands

def put_key_command(key: KeyLoad, *, df_specific: bool = True) -> CommandApdu:
    """Load one symmetric role key (applets/security PUT KEY): CLA 80 INS D8, P1 01 (symmetric), P2 80 |
    key reference into the current application, or the bare reference (b8 = 0) into the MF; data 81
    cipher (01 AES, 02 SM4), 82 retry limit, 83 key value. The card accepts it only while the DF's CREATE_EF
    rule is not binding."""
    data = (encode_tlv(TAG_CIPHER, bytes((_CIPHER_BYTE[key.cipher],))) + encode_tlv(TAG_RETRIES, bytes((key.retries,)))
            + encode_tlv(TAG_KEY, key.value))
    return cmd.put_key(key.ref, data, df_specific=df_specific)


# ---------------------------------------------------------------- plan

def _key_refs(attrs: SecurityAttributes | None) -> set[int]:
    if attrs is None:
        return set()
    return {c.key_ref for c in attrs.rules.values() if c.key_ref is not None}


def _personalising(fcp: Fcp) -> Fcp:
    """The FCP to create with: INITIALISATION, so the layout's rules bind only after ACTIVATE."""
    return replace(fcp, lifecycle=LifeCycle.INITIALISATION)


def _body_steps(f: CardFile, unit: str) -> list[Step]:
    if f.records is not None:
        return [Step(Op.APPEND, f.name, cmd.append_record(r), unit=unit) for r in f.records]
    if f.content:
        return [Step(Op.UPDATE, f.name, cmd.update_binary(f.content), unit=unit)]
    return []


def keys_for_df(layout: Layout, image: CardImage, df: CardFile, values: Mapping[str, bytes]) -> list[KeyLoad]:
    """The layout keys that any rule of `df` or of its EFs names, in key-reference order."""
    refs = _key_refs(df.fcp.security)
    for f in image:
        if f.parent_path == df.path and not f.is_df:
            refs |= _key_refs(f.fcp.security)
    out = []
    for name, decl in sorted(layout.keys.items(), key=lambda kv: kv[1].ref):
        if decl.ref in refs:
            if name not in values:
                raise PlanError(f"keys: no per-card value for key {name!r} (DF {df.name} needs it)")
            out.append(KeyLoad(df.name, name, decl.ref, decl.retries, values[name], layout_suite(layout).cipher))
    return out


def signed_ef_names(layout: Layout, image: CardImage) -> tuple[str, ...]:
    """EFs covered by EF.SOD, in image order: the ones a counter requires EF.SOD to cover (the transparent
    EFs of the permit ADF that carry permit data, plus EF.CHIPKEY; EF.ENDORSE is left out: records are
    appended later, each signed on its own)."""
    required = required_files(layout)
    return tuple(f.name for f in image if f.name in required)


def build_plan(image: CardImage, layout: Layout, key_values: Mapping[str, bytes]) -> Plan:
    """The ordered steps for `image`; `key_values` maps each layout key name to its per-card key."""
    if image.layout_id != layout.id:
        raise PlanError(f"image: layout {image.layout_id!r} is not {layout.id!r}")
    for required in (PERMIT_DF, CHIPKEY_EF, SOD_EF, "card"):
        try:
            image.file(required)
        except KeyError:
            raise PlanError(f"{required}: the image has no such file; the pipeline needs it") from None
    permit = image.file(PERMIT_DF)
    for name in (CHIPKEY_EF, SOD_EF):
        if image.file(name).parent_path != permit.path:
            raise PlanError(f"{name}: must sit in the permit ADF")
    steps: list[Step] = []
    # 1. MF-level EFs (EF.DIR): created in INITIALISATION, filled, activated.
    for f in image:
        if f.is_df or f.parent_path != (MF_FID,) or f.fid == EF_ATR_FID:
            continue
        steps.append(Step(Op.CREATE, f.name, cmd.create_file(_personalising(f.fcp).encode()), unit=f.name))
        steps.extend(_body_steps(f, f.name))
        steps.append(Step(Op.ACTIVATE, f.name, cmd.activate_file(), unit=f.name))
    # 2./3. ADFs, the permit ADF last.
    dfs = [f for f in image.dfs() if f.path != (MF_FID,)]
    if any(len(f.path) != 2 for f in dfs):
        raise PlanError("dfs: only ADFs directly under the MF are supported")
    dfs.sort(key=lambda f: f.name == PERMIT_DF)
    keys: list[KeyLoad] = []
    for i, df in enumerate(dfs):
        if i:  # the MF is current at the start (reset, or after EF.DIR which sits in it)
            steps.append(Step(Op.SELECT_MF, "mf", cmd.select_mf()))
        steps.append(Step(Op.CREATE, df.name, cmd.create_file(_personalising(df.fcp).encode()), unit=df.name))
        for f in image:
            if f.parent_path != df.path:
                continue
            if f.is_df:
                raise PlanError(f"{f.name}: DFs inside an ADF are not supported")
            steps.append(Step(Op.CREATE, f.name, cmd.create_file(f.fcp.encode()), unit=df.name))
            if f.name not in (CHIPKEY_EF, SOD_EF):
                steps.extend(_body_steps(f, df.name))
        df_keys = keys_for_df(layout, image, df, key_values)
        keys.extend(df_keys)
        steps.extend(Step(Op.PUT_KEY, k.name, put_key_command(k), secret=True, unit=df.name) for k in df_keys)
        if df.name == PERMIT_DF:
            steps.append(Step(Op.GENERATE_CHIP_KEY, CHIPKEY_EF, generate_key_pair_command(
                CHIP_KEY_REF, suite=layout_suite(layout)), unit=df.name))
            steps.append(Step(Op.WRITE_CHIP_KEY, CHIPKEY_EF, unit=df.name))
            steps.append(Step(Op.WRITE_SOD, SOD_EF, unit=df.name))
    # 4. Activation: departments; the MF with its issuer key (ACTIVATE without data: the MF is current);
    #    the permit ADF last, the commit point.
    mf = mf_of(image)
    mf_keys = keys_for_df(layout, image, mf, key_values)
    keys.extend(mf_keys)
    steps.append(Step(Op.SELECT_MF, "mf", cmd.select_mf()))
    steps.extend(Step(Op.ACTIVATE, df.name, cmd.activate_file(df.fid), unit=df.name) for df in dfs[:-1])
    steps.extend(Step(Op.PUT_KEY, k.name, put_key_command(k, df_specific=False), secret=True, unit=mf.name)
                 for k in mf_keys)
    steps.append(Step(Op.ACTIVATE, mf.name, cmd.activate_file(), unit=mf.name))
    steps.append(Step(Op.ACTIVATE, dfs[-1].name, cmd.activate_file(dfs[-1].fid), unit=dfs[-1].name))
    return Plan(image, tuple(steps), signed_ef_names(layout, image), card_number_of(image, layout), tuple(keys),
                layout_suite(layout))


def mf_of(image: CardImage) -> CardFile:
    """The image's MF (path 3F00)."""
    return image.by_path((MF_FID,))


def sfi_of(image: CardImage, name: str) -> int:
    sfi = image.file(name).sfi
    if sfi is None:
        raise PlanError(f"{name}: has no short EF identifier")
    return sfi
