"""What goes wrong with a base model before anything is drawn."""


def one_line(error: Exception) -> str:
    """An exception's message on one line (libraries' messages span several; a log line should not)."""
    return " ".join(str(error).split()) or type(error).__name__


class BaseModelError(ValueError):
    """`SL_BASE_MODEL` cannot be used: missing, unreadable, or of no family this platform draws with.
    The message names the model and the cause in one line, for the replica's or the job's log."""
