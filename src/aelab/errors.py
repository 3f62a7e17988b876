"""The one exception type that the command line turns into a clean message."""


class AelabError(Exception):
    """A problem the user can fix: bad input, a bad parameter, a failed fetch.

    The message names the file, key or value at fault and says what to do.
    The command line prints it without a traceback and exits with status 1.
    """
