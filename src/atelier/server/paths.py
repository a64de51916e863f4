"""Names of files and locations that come from clients: checked before any service sees them.

On top of the core rule (relative, no '..', no absolute or drive paths), the server refuses
percent-encoded dots, slashes and backslashes (a name that a later decoding would turn into
a traversal), fragments and control characters.
"""

from __future__ import annotations

import re

from atelier.core.errors import ValidationError
from atelier.core.names import check_relative_path

_ENCODED = re.compile(r"%(2e|2f|5c|25|00)", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_location(path: object, *, what: str = "file name") -> str:
    """``path`` in POSIX form if it is safe to name a file below a root, else
    ``ValidationError`` saying what to change."""
    if isinstance(path, str):
        if _ENCODED.search(path):
            raise ValidationError(
                f"{what} {path!r} contains a percent-encoded '.', '/', '\\' or '%'; "
                "send the plain name"
            )
        if "#" in path or "?" in path:
            raise ValidationError(f"{what} {path!r} contains '#' or '?'; rename the file")
        if _CONTROL.search(path):
            raise ValidationError(f"{what} {path!r} contains a control character")
    return check_relative_path(path, what=what)
