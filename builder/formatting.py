"""How builder writes a fact as text, in one place: shapes and counts. No arithmetic beyond that."""

from __future__ import annotations

from collections.abc import Sequence

MISSING = "—"


def shape_text(
    shape: Sequence[int] | None, sep: str = ", ", brackets: bool = True, missing: str = MISSING
) -> str:
    """A per-sample shape as the tables print it: ``(6, 28, 28)``.

    Args:
        shape: the sizes, or None where there is no shape (after an error).
        sep: between sizes (the app keeps a shape on one line with non-breaking spaces;
            the receptive-field chart writes ``6×28×28``).
        brackets: whether to wrap it in parentheses, as torch prints sizes.
        missing: the text for None.
    """
    if shape is None:
        return missing
    body = sep.join(str(s) for s in shape)
    return f"({body})" if brackets else body
