"""The interface language: which one (link, browser, picker) and the text in it.

Texts live in one gettext catalog per language (``ui/locale/<lang>/LC_MESSAGES/netbuilder.po``,
read once with Babel; no compiled ``.mo`` is needed). A message id is the English text as the
code writes it, a ``str.format`` template where it has values: ``t("Loaded {name}.", name=n)``.
English is the id itself; an id the catalog lacks (or leaves empty) falls back to English.

``?lang=pseudo`` is a pseudo-localization for testing the layout: every text the code translates
is its English wrapped in ``⟦…⟧`` and padded with ``~`` to about 40 % longer (placeholders kept),
so a label that would clip or overflow in a longer language shows it, and a text left out of
the translator stays bare.

The language comes from ``?lang=`` (``zh-CN``, ``zh``, ``zh-Hans``, ``en``), else the browser's
locale (``st.context.locale``), else English; it is kept in session state, and the sidebar
picker writes it back to ``?lang=`` so a copied link opens in the same language.
"""

from __future__ import annotations

import functools
import math
import re
import string
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import streamlit as st
from babel.messages.pofile import read_po

DOMAIN = "netbuilder"
LOCALE_DIR = Path(__file__).parent / "locale"
ENGLISH = "en"
CHINESE = "zh_CN"
LANGUAGES = {ENGLISH: "English", CHINESE: "简体中文"}
"""The languages offered, by catalog code, with their names in themselves."""
PSEUDO = "pseudo"
"""The pseudo-localization (``?lang=pseudo``): not offered in the picker."""
QUERY_CODES = {ENGLISH: "en", CHINESE: "zh-CN", PSEUDO: PSEUDO}
"""How ``?lang=`` spells each language."""
PSEUDO_GROWTH = 0.4
_MARKUP_HEAD = re.compile(r"^[#>\s]*")  # a Markdown heading's hashes stay in front
STATE_KEY = "lang"
PICKER_KEY = "lang_picker"
_TRADITIONAL = ("zh-tw", "zh-hk", "zh-mo", "zh-hant")  # no Traditional catalog (yet): English


def normalize(code: Any) -> str | None:
    """The catalog code for a language tag (``zh-CN``, ``zh_Hans``, ``ZH``, ``en-GB``), or None.

    A tag for a language without a catalog (``fr``, Traditional Chinese ``zh-TW``) is None.
    """
    if not isinstance(code, str):
        return None
    tag = code.strip().replace("_", "-").lower()
    if tag == PSEUDO:
        return PSEUDO
    if tag == "zh" or (tag.startswith("zh-") and not tag.startswith(_TRADITIONAL)):
        return CHINESE
    if tag == "en" or tag.startswith("en-"):
        return ENGLISH
    return None


def detect_language(query: Any, locale: Any, kept: Any = None) -> str:
    """The language to show: ``?lang=`` first, then the one kept in the session, then the
    browser's locale, else English.

    Args:
        query: the ``lang`` query parameter (None where the link has none).
        locale: the browser's locale (``st.context.locale``, e.g. ``"zh-CN"``), or None.
        kept: the language this session already uses (the picker's choice), or None.

    Returns:
        A key of ``LANGUAGES``.
    """
    for code in (query, kept, locale):
        found = normalize(code)
        if found:
            return found
    return ENGLISH


def pseudo(template: str) -> str:
    """``template`` pseudo-localized: ``⟦`` + the text + ``~`` padding + ``⟧``, about
    ``PSEUDO_GROWTH`` longer than the text it shows (placeholders count as nothing: their
    values are not known yet), placeholders and a leading Markdown heading kept as they are."""
    shown = string.Formatter()
    visible = sum(len(literal) for literal, _, _, _ in shown.parse(template))
    pad = "~" * max(1, math.ceil(PSEUDO_GROWTH * visible) - 2)
    head = _MARKUP_HEAD.match(template).group(0)
    return f"{head}⟦{template[len(head) :]}{pad}⟧"


class _Pseudo(Mapping):
    """The pseudo-localization's catalog: every id is ``pseudo(id)`` (a plural's pair, each)."""

    def __getitem__(self, msgid: Any) -> Any:
        if isinstance(msgid, tuple):
            return tuple(pseudo(form) for form in msgid)
        if isinstance(msgid, str) and msgid:
            return pseudo(msgid)
        raise KeyError(msgid)

    def __iter__(self):
        return iter(())

    def __len__(self) -> int:
        return 0


@functools.cache
def catalog(lang: str) -> Mapping[Any, Any]:
    """``msgid -> translation`` for ``lang`` (a plural's id is its ``(singular, plural)`` pair
    and its translation a tuple of forms); fuzzy and empty entries are left out."""
    if lang == PSEUDO:
        return _Pseudo()
    path = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if lang == ENGLISH or not path.is_file():
        return {}
    with path.open("rb") as handle:
        po = read_po(handle, locale=lang, domain=DOMAIN)
    found: dict[Any, Any] = {}
    for entry in po:
        if not entry.id or entry.fuzzy:
            continue
        forms = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        if all(forms):
            found[entry.id] = entry.string
    return found


def _format(template: str, fallback: str, params: Mapping[str, Any]) -> str:
    """``template`` with ``params``; the English ``fallback`` where a translation's
    placeholders do not match (a broken translation never breaks the page)."""
    if not params and "{" not in template:
        return template
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError, AttributeError):
        return fallback.format(**params)


def translate(msgid: str, lang: str, **params: Any) -> str:
    """``msgid`` in ``lang``, formatted with ``params``; English where there is no translation.

    A parameter that is a ``builder.messages.Message`` is translated too (``where``, a list
    form, a hint).
    """
    values = {key: translate_text(value, lang) for key, value in params.items()}
    text = catalog(lang).get(msgid, msgid)
    return _format(text, msgid, values)


def translator(lang: str) -> Callable[[str], str]:
    """``msgid -> its template in lang`` (unformatted; the id itself where the catalog has
    none): what builder's figure functions take as ``translate`` (they format it themselves,
    ``builder.messages.localize``)."""
    found = catalog(lang)
    return lambda msgid: found.get(msgid, msgid)


def translate_plural(singular: str, plural: str, n: int, lang: str, **params: Any) -> str:
    """The form of a message that counts ``n`` things (``n`` is also a parameter)."""
    values = {"n": n, **params}
    forms = catalog(lang).get((singular, plural))
    english = singular if n == 1 else plural
    if not forms:
        return _format(english, english, values)
    return _format(forms[0] if len(forms) == 1 or n == 1 else forms[1], english, values)


def translate_text(value: Any, lang: str) -> Any:
    """A ``Message`` (from ``builder``) in ``lang``; any other value as it is."""
    msgid = getattr(value, "msgid", None)
    if isinstance(value, str) and isinstance(msgid, str):
        return translate(msgid, lang, **dict(getattr(value, "params", {})))
    return value


def placeholders(template: str) -> set[str]:
    """The names a ``str.format`` template uses (``{where}: {key}`` -> ``{"where", "key"}``)."""
    return {
        name.split(".")[0].split("[")[0]
        for _, name, _, _ in string.Formatter().parse(template)
        if name
    }


def render_error(exc: BaseException, lang: str) -> str:
    """A builder error in ``lang``: a ``SpecError`` from its message id and parameters, a
    ``LayerProblem`` from its message and fix (each a ``Message`` where the builder made one);
    anything without an id stays its English text."""
    msgid = getattr(exc, "msgid", None)
    if isinstance(msgid, str):
        return translate(msgid, lang, **dict(getattr(exc, "params", None) or {}))
    problem = getattr(exc, "message", None)
    if isinstance(problem, str):
        fix = getattr(exc, "fix", "")
        if fix:
            return translate("{problem}. Fix: {fix}", lang, problem=problem, fix=fix)
        return translate_text(problem, lang)
    return str(exc)


# --- Streamlit side: the session's language --------------------------------------------------


def _query_lang() -> Any:
    try:
        return st.query_params.get("lang")
    except Exception:  # outside a script run (a bare import): no query parameters
        return None


def _browser_locale() -> Any:
    try:
        return st.context.locale
    except Exception:  # outside a script run, or a client that sends no locale
        return None


def language() -> str:
    """This session's language (``detect_language`` on the link, the kept choice and the
    browser), kept in session state."""
    try:
        kept = st.session_state.get(STATE_KEY)
    except Exception:  # outside a script run
        return detect_language(_query_lang(), _browser_locale())
    lang = detect_language(_query_lang(), kept, _browser_locale())
    if kept != lang:
        st.session_state[STATE_KEY] = lang
    return lang


def set_language(code: str) -> str:
    """Switch this session to ``code`` (any tag ``normalize`` reads) and keep it in the link.

    Returns:
        The language now in use (English for a tag without a catalog).
    """
    lang = normalize(code) or ENGLISH
    st.session_state[STATE_KEY] = lang
    st.query_params["lang"] = QUERY_CODES[lang]
    return lang


def t(msgid: str, **params: Any) -> str:
    """``msgid`` in this session's language, formatted with ``params``."""
    return translate(msgid, language(), **params)


def ngettext(singular: str, plural: str, n: int, **params: Any) -> str:
    """The form of a counting message for ``n`` in this session's language (``{n}`` in it)."""
    return translate_plural(singular, plural, n, language(), **params)


def translate_error(exc: BaseException) -> str:
    """A builder ``SpecError`` / ``LayerProblem`` in this session's language (``render_error``)."""
    return render_error(exc, language())


def _picked() -> None:
    set_language(st.session_state[PICKER_KEY])


def lang_picker() -> None:
    """The sidebar's "Language / 语言" select box; a choice is kept in the session and in
    ``?lang=`` (share links keep it)."""
    current = language()
    if st.session_state.get(PICKER_KEY) != current:
        st.session_state[PICKER_KEY] = current
    offered = {**LANGUAGES, **({PSEUDO: "Pseudo"} if current == PSEUDO else {})}
    st.selectbox(
        "Language / 语言",
        list(offered),
        format_func=offered.__getitem__,
        key=PICKER_KEY,
        on_change=_picked,
    )
