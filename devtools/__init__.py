"""The composition root of the card side (design §3): the one place that joins host code and virtual cards.

`cardsvc` never imports `simulator` or `applets`; what needs both lives here: the `CardSide` the CLI and the
service use (`devtools.cardside`, declared as the `cardsvc.card_side` entry point), the service's virtual
readers (`simreaders`), the `make run` bring-up (`devenv`), and the real PC/SC harness of the tests and the
benchmarks (`pcsc_stack`: pcscd, vpcd's readers, virtual cards as processes).
"""
