"""Personalization pipeline (issue 5 item 3): approved permit → card image → per-card keys and the chip's
own key pair → APDU plan → write through any `Connection` → verify as a counter reader would → only then
recorded as issued. Endorsements kept in step between card and registry (item 4); batches across readers.

Modules: plan (image + keys → ordered commands), personalize (survey, wipe, write, commit), verify_after_write,
keys (the station's key store), endorse_records (signed EF.ENDORSE records), jobs (registry job glue),
endorse (endorsement service), batch + feeds (several readers at once), prepare (card number, issue day), demo.
"""
