"""The two kinds of failure the CLI tells apart: bad input (exit 2) and runtime failure (exit 1)."""


class UserError(Exception):
    """Bad input: a recipe key, a file, a model reference. The message is the whole story (exit 2)."""


class RuntimeFailure(Exception):
    """Input was fine but the work failed (a check did not hold, a library refused). Exit 1."""
