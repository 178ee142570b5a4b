"""The zoo's logger: one line per event, on stderr, so stdout stays free for results."""

import logging

log = logging.getLogger("zoo")


def setup(verbose: bool = True):
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("[zoo] %(message)s"))
        log.addHandler(handler)
        log.propagate = False
    log.setLevel(logging.INFO if verbose else logging.WARNING)
