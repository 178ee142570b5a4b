"""The zoo's logger: one line per event, on stderr, so stdout stays free for results."""

import logging
import sys

log = logging.getLogger("zoo")


class _CurrentStderr(logging.StreamHandler):
    """A handler that writes to `sys.stderr` as it is when a line is logged, not as it was when
    the handler was made: a CLI's `main()` called from Python (a notebook, a test) whose stderr
    has been redirected since the first call still shows its lines, where they are captured."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _):
        pass


def setup(verbose: bool = True):
    if not log.handlers:
        handler = _CurrentStderr()
        handler.setFormatter(logging.Formatter("[zoo] %(message)s"))
        log.addHandler(handler)
        log.propagate = False
    log.setLevel(logging.INFO if verbose else logging.WARNING)
