"""lang.py - the language a learner's tools speak, and where each edition
of a document is (imported by hint.py and progress.py).

French when OSPS_LANG=fr, or when the locale says so: the first of LC_ALL,
LC_MESSAGES, LANG that is set starts with "fr" (fr_FR.UTF-8, fr_CA, ...).
OSPS_LANG=en forces English. Everything else is English.

The editions: X.md is English and X.fr.md French, beside it; in a handout
made with HANDOUT_LANG=fr, X.md is French and X.en.md English.
"""
import os


def language():
    """'fr' or 'en', from OSPS_LANG, then LC_ALL, LC_MESSAGES, LANG."""
    forced = os.environ.get("OSPS_LANG", "").lower()
    if forced in ("fr", "en"):
        return forced
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var, "")
        if value:
            return "fr" if value.lower().startswith("fr") else "en"
    return "en"


def edition(path, lang):
    """The file of path's edition in lang (path names the X.md file)."""
    base = path[:-len(".md")]
    if os.path.exists(base + ".en.md"):             # French is the default here
        return base + ".en.md" if lang == "en" else path
    return base + ".fr.md" if lang == "fr" else path
