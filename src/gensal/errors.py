"""Exception types raised on bad user input.

Every error a user can cause derives from :class:`GensalError`; the command line turns it into a one-line
message and a non-zero exit status. The subclasses also derive from the matching built-in exception so
that library users can catch ``ValueError`` / ``FileNotFoundError`` as usual.
"""


class GensalError(Exception):
    """Base class of every error gensal raises on bad input."""


class InputError(GensalError, ValueError):
    """A value, array or file content is not what was expected."""


class DataError(InputError):
    """A data folder or file is missing, empty, unreadable or inconsistent."""


class ConfigError(InputError):
    """A configuration key or value is wrong."""
