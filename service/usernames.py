"""What a username is: stored NFKC-normalised and trimmed, compared by a folded key, and free of
characters that do not show, so that no two accounts look alike (SPEC §8)."""

from __future__ import annotations

import unicodedata

MAX_LENGTH = 100
# control and format characters (zero-width, bidi controls, soft hyphen, BOM), surrogates, private-use
# and unassigned code points (a later Unicode version could change their normalisation), line and
# paragraph separators
INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def normalised(raw: str) -> str:
    """The username as stored: NFKC, without surrounding white space. ValueError says what is wrong."""
    name = unicodedata.normalize("NFKC", raw).strip()
    invisible = next((c for c in name if unicodedata.category(c) in INVISIBLE), None)
    if invisible is not None:
        raise ValueError(f"must not contain control or format characters (U+{ord(invisible):04X})")
    if not 1 <= len(name) <= MAX_LENGTH:
        raise ValueError(f"must be 1 to {MAX_LENGTH} characters once normalised (NFKC)")
    return name


def key(name: str) -> str:
    """What usernames are compared by (unique, and looked up at login): NFKC without surrounding white
    space, full case folding, NFKC again. That is Unicode's NFKC_Casefold short of dropping
    default-ignorable characters, which `normalised` refuses instead."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).strip().casefold())
