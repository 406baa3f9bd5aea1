"""Share links: a design packed into one URL-safe string (compressed JSON), and back.

Decoding never trusts the link: its length, the compressed and decompressed sizes, and the JSON
are all bounded, and the result still has to pass ``load_spec``.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from typing import Any

from .errors import SpecError
from .limits import MAX_LINK_CHARS
from .spec import load_spec, require_object

MAX_JSON_BYTES = 200_000
PREFIX = "1"  # format tag of the packed string


class LinkTooLong(SpecError):
    """The design packs to more than a link may hold; ``.chars`` says how much it needs."""

    def __init__(self, chars: int) -> None:
        super().__init__(
            f"this design is too large for a link ({chars:,} characters packed; a link holds at "
            f"most {MAX_LINK_CHARS:,}): download it as JSON instead"
        )
        self.chars = chars


def pack(value: Any) -> str:
    """Any JSON value as a URL-safe string: ``1`` + base64url of zlib'd compact JSON."""
    text = json.dumps(value, separators=(",", ":"), sort_keys=True)
    packed = zlib.compress(text.encode("utf-8"), level=9)
    return PREFIX + base64.urlsafe_b64encode(packed).decode("ascii").rstrip("=")


def unpack(link: Any, what: str = "the share link", max_bytes: int = MAX_JSON_BYTES) -> Any:
    """The JSON value ``pack`` made, every size bounded before it is allocated.

    Raises:
        SpecError: with a message for a person (empty, too long, damaged, too large unpacked).
    """
    if not isinstance(link, str) or not link:
        raise SpecError(f"{what} is empty")
    if len(link) > MAX_LINK_CHARS:
        raise SpecError(
            f"{what} is too long ({len(link):,} characters; at most {MAX_LINK_CHARS:,})"
        )
    if not link.startswith(PREFIX):
        raise SpecError(f"{what} is not a NetBuilder link (unknown format)")
    body = link[len(PREFIX) :]
    try:
        packed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        inflater = zlib.decompressobj()
        raw = inflater.decompress(packed, max_bytes + 1)
        if len(raw) > max_bytes or inflater.unconsumed_tail:
            raise SpecError(f"{what} unpacks to more than it may hold")
        return json.loads(raw.decode("utf-8"))
    except SpecError:
        raise
    except (binascii.Error, ValueError, zlib.error, UnicodeDecodeError, RecursionError):
        raise SpecError(f"{what} is damaged (it may have been cut short)") from None


def encode_design(design: dict[str, Any]) -> str:
    """Pack a spec dict for a share link (``?d=``).

    Raises:
        LinkTooLong: (a ``SpecError``) when the packed string would be longer than
            ``MAX_LINK_CHARS``, which ``decode_design`` refuses: a link that cannot be opened is
            never handed out.
    """
    link = pack(design)
    if len(link) > MAX_LINK_CHARS:
        raise LinkTooLong(len(link))
    return link


def decode_design(link: str) -> dict[str, Any]:
    """Unpack and validate a design from a share string.

    Raises:
        SpecError: with a message for a person (too long, damaged, not a design, invalid spec).
    """
    data = unpack(link)
    # a link holding a JSON string is refused here, never parsed again nor read as a path
    return load_spec(require_object(data)).to_dict()
