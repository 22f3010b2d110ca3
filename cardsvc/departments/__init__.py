"""一证通 department records (issue 16 item 1): each department writes its own records on the card.

`record` is the on-card format (two slots, a sequence number and a MAC under the department's key);
`card` runs a department's read and write at its reader under secure messaging.
"""
