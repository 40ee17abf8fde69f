"""Error text as a client may see it: no filesystem path, no storage URL.

Domain messages name the file or object that failed, for the logs and the CLI; the server's
layout is no business of an HTTP client. :func:`without_paths` cuts each absolute path, URL
and configured location down to its last part (``/srv/models/v1/model.npy`` -> ``model.npy``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_PART = r"[^\s/'\"():,;]+"
_ABSOLUTE = re.compile(rf"(?:\b[a-zA-Z][a-zA-Z0-9+.-]*://|(?<![\w.~-])~?/)(?:{_PART}/)*({_PART})/?")
"""A URL (``s3://bucket/key``) or an absolute path (``/srv/x``, ``~/x``), its last part
captured; ``I/O`` is neither."""


def without_paths(text: str, places: Iterable[str] = ()) -> str:
    """``text`` with each path reduced to its last part.

    Parameters
    ----------
    text:
        A message that may name files.
    places:
        Relative locations the service is configured with (``dataset``, ``models``): a path
        starting with one of them is cut too, which no pattern could tell from prose.
    """
    for place in sorted({p.rstrip("/") for p in places if p.strip("./")}, key=len, reverse=True):
        text = re.sub(rf"(?<![\w./-]){re.escape(place)}/(?:{_PART}/)*", "", text)
    return _ABSOLUTE.sub(r"\1", text)
