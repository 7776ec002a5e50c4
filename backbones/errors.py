"""Error types with one-line messages that name the bad file, key or value.

`UserError` is the root: bad input, or a run that cannot go on. The train and test tools print such an error as its
one line, without a traceback (`--debug` shows it); any other exception is a bug and keeps its traceback. Argument
errors are also the `AssertionError`/`KeyError` raised by mmdet's, mmseg's and mmpretrain's backbones for the same
mistakes, so code (and tests) written against those toolkits still catch them.
"""


class UserError(ValueError):
    """Bad input or a run that cannot go on, in one line that names the file, key or value."""


class BackboneArgError(UserError, AssertionError):
    """A backbone argument out of its range (also an AssertionError, as in mmdet/mmseg)."""


class UnknownDepthError(UserError, KeyError):
    """A depth with no architecture (also a KeyError, as in mmdet/mmseg)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ''


class CheckpointError(UserError):
    """A checkpoint that cannot be loaded safely."""


class ArgError(UserError):
    """A value given to a model, transform, loss, hook or scheduler (a config key) that cannot work."""


class ArgTypeError(ArgError, TypeError):
    """A value of the wrong type (also a TypeError, as Python's own checks raise)."""
