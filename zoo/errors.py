"""One error type for everything a user can get wrong, and the CLI wrapper that turns it into
a single line on stderr and a non-zero exit instead of a traceback."""

from __future__ import annotations

import argparse
import functools
import sys


class ZooError(Exception):
    """A problem the user can fix: bad input, a missing file, an unknown name.

    The message is shown to the user as one line, so it must say what is wrong and, where it
    can, what to do instead.
    """


EXIT_USAGE = 2
FIRST_LINE_LIMIT = 300  # characters: a library's message can carry a whole model config on its first line


def first_line(error: BaseException) -> str:
    """The start of an exception's message for a one-line ZooError: its first line, at most
    FIRST_LINE_LIMIT characters (Keras puts a model's whole config, tens of kilobytes, in the
    first line of a deserialisation error), or the exception's type when it says nothing."""
    line = (str(error).strip().splitlines() or [type(error).__name__])[0]
    return line if len(line) <= FIRST_LINE_LIMIT else line[:FIRST_LINE_LIMIT] + " ..."


def check_at_least(flag: str, value, minimum=1):
    """Refuse a numeric option below `minimum` (None: not given), naming the flag."""
    if value is not None and value < minimum:
        raise ZooError(f"--{flag.replace('_', '-')} must be at least {minimum}, got {value}")


def cli(main):
    """Decorate a CLI entry point: `ZooError` and Ctrl-C become one line and exit status 2/130."""

    @functools.wraps(main)
    def wrapper(argv=None):
        try:
            return main(argv)
        except ZooError as e:
            print(f"error: {e}", file=sys.stderr)
            return EXIT_USAGE
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 130

    return wrapper


class DefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """--help shows a flag's default where it has one worth reading: not "(default: None)" for
    a flag that is simply not given, nor "(default: False)" for a switch."""

    def _get_help_string(self, action):
        switch = isinstance(action, argparse._StoreConstAction)  # store_true, store_false: the flag says it
        unset = action.default is None or action.default is False or action.default == argparse.SUPPRESS  # not 0
        if switch or unset or "%(default)" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


class DefaultsRawDescriptionHelpFormatter(DefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """`DefaultsHelpFormatter` with the description and epilog kept as written."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line (not the whole usage block) and exit status 2,
    and --help shows the defaults that say something (`DefaultsHelpFormatter`)."""

    def __init__(self, *args, formatter_class=DefaultsHelpFormatter, **kwargs):
        super().__init__(*args, formatter_class=formatter_class, **kwargs)

    def error(self, message):
        print(f"error: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(EXIT_USAGE)
