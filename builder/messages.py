"""Messages that stay English text but remember how they were made (a message id + parameters).

``message("{where}: {key} must be an integer, got {value}", where=..., key=..., value=...)`` is
a ``str`` (its English text, so ``str(exc)`` and every test that matches it are unchanged) that
also carries ``.msgid`` and ``.params``. The app looks the id up in its catalog
(``ui/locale/<lang>/LC_MESSAGES/netbuilder.po``) and formats the translation with the same
parameters; a parameter that is itself a ``Message`` (``where``: ``layer 3 (conv2)``) is
translated the same way. ``pybabel extract -k message -k N_`` finds every id (babel.cfg).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any


class Message(str):
    """English text with its message id and parameters (``text == msgid.format(**params)``)."""

    msgid: str
    params: Mapping[str, Any]

    def __new__(cls, msgid: str, params: Mapping[str, Any] | None = None) -> Message:
        values = dict(params or {})
        self = super().__new__(cls, msgid.format(**values))
        self.msgid = msgid
        self.params = MappingProxyType(values)
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        # a str subclass pickles its text by default; rebuild from the id instead (the text
        # may hold braces that are not placeholders)
        return (Message, (self.msgid, dict(self.params)))

    def __copy__(self) -> Message:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Message:
        return self


def N_(msgid: str) -> str:
    """Mark a message id bound to a name before use (``msgid = N_("...")``) so that
    ``pybabel extract -k N_`` finds it; returns it unchanged."""
    return msgid


def message(msgid: str, **params: Any) -> Message:
    """The English text of ``msgid`` formatted with ``params``, remembering both.

    Args:
        msgid: a ``str.format`` template in English, e.g. ``"{where}: {key} must be an
            integer, got {value}"`` (its placeholders are plain names).
        **params: the values for the placeholders.

    Returns:
        A ``Message`` (a ``str``).
    """
    return Message(msgid, params)


Translator = Callable[[str], str]
"""A message id -> its template in the reader's language (the id itself where none): what the
figure functions take as ``translate`` (the app passes its catalog lookup; builder never
imports the UI)."""


def localize(translate: Translator | None, msgid: str, **params: Any) -> str:
    """``msgid`` through ``translate`` (English where it is None), formatted with ``params``.

    A translation whose placeholders do not match falls back to the English template, so a
    broken catalog entry never breaks a figure.
    """
    text = translate(msgid) if translate is not None else msgid
    if not params:
        return text
    try:
        return text.format(**params)
    except (KeyError, IndexError, ValueError, AttributeError):
        return msgid.format(**params)
