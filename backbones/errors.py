"""Error types with one-line messages that name the bad file, key or value.

Argument errors are `ValueError`s that are also the `AssertionError`/`KeyError` raised by mmdet's, mmseg's and
mmpretrain's backbones for the same mistakes, so code (and tests) written against those toolkits still catch them.
"""


class BackboneArgError(ValueError, AssertionError):
    """A backbone argument out of its range (also an AssertionError, as in mmdet/mmseg)."""


class UnknownDepthError(ValueError, KeyError):
    """A depth with no architecture (also a KeyError, as in mmdet/mmseg)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ''


class CheckpointError(ValueError):
    """A checkpoint that cannot be loaded safely."""
