"""Card-side applications: the logic a card OS runs (design §3). Never imports host code.

`applets.cardos.CardOs` is the ISO 7816-4 file-system card OS; a security module plugs in through
`CardOs.table.register(ins, handler)`, `CardOs.sm` (secure messaging hook), `CardOs.reset_hooks`,
`ChannelState.security` and the persistent `CardOs.put_object/get_object` store.
"""

from applets.cardos import CardOs, SecureMessaging
from applets.context import CardState, ChannelState, CommandTable, Context, Handler, Reply
from applets.errors import PowerLoss, SwError

__all__ = ["CardOs", "CardState", "ChannelState", "CommandTable", "Context", "Handler", "PowerLoss",
           "Reply", "SecureMessaging", "SwError"]
