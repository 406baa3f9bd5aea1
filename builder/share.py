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
from .spec import load_spec

MAX_JSON_BYTES = 200_000
PREFIX = "1"  # format tag of the packed string


def encode_design(design: dict[str, Any]) -> str:
    """Pack a spec dict into a URL-safe string (``1`` + base64url of zlib'd compact JSON)."""
    text = json.dumps(design, separators=(",", ":"), sort_keys=True)
    packed = zlib.compress(text.encode("utf-8"), level=9)
    return PREFIX + base64.urlsafe_b64encode(packed).decode("ascii").rstrip("=")


def decode_design(link: str) -> dict[str, Any]:
    """Unpack and validate a design from a share string.

    Raises:
        SpecError: with a message for a person (too long, damaged, not a design, invalid spec).
    """
    if not isinstance(link, str) or not link:
        raise SpecError("the share link is empty")
    if len(link) > MAX_LINK_CHARS:
        raise SpecError(
            f"the share link is too long ({len(link):,} characters; at most {MAX_LINK_CHARS:,})"
        )
    if not link.startswith(PREFIX):
        raise SpecError("the share link is not a NetBuilder design (unknown format)")
    body = link[len(PREFIX) :]
    try:
        packed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        inflater = zlib.decompressobj()
        raw = inflater.decompress(packed, MAX_JSON_BYTES + 1)
        if len(raw) > MAX_JSON_BYTES or inflater.unconsumed_tail:
            raise SpecError("the share link unpacks to more than a design can hold")
        data = json.loads(raw.decode("utf-8"))
    except SpecError:
        raise
    except (binascii.Error, ValueError, zlib.error, UnicodeDecodeError, RecursionError):
        raise SpecError("the share link is damaged (it may have been cut short)") from None
    return load_spec(data).to_dict()
