"""The one exception type the builder raises for bad user input."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class SpecError(ValueError):
    """A network spec (or something derived from it) is invalid.

    The message names the layer (position counted from 1, and name) and the field, with the
    received value, e.g. ``layer 3 (conv2): kernel_size must be a positive integer, got -1``.
    ``str(exc)`` is always that English text (for API users); ``msgid`` and ``params`` say how
    it was made so the app can render it in the user's language (``builder.messages``).

    Attributes:
        msgid: the message id (an English ``str.format`` template), or None for a plain text.
        params: the template's values (empty for a plain text).
    """

    def __init__(
        self,
        message: Any = "",
        *args: Any,
        msgid: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message, *args)
        if msgid is None:
            msgid = getattr(message, "msgid", None)
            params = getattr(message, "params", None) if params is None else params
        self.msgid = msgid
        self.params = dict(params or {})
