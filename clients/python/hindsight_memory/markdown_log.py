"""The markdown decision-log format of TradingAgents (v0.2.4 and later), read and written by Hindsight.

A log is a sequence of entries, each followed by :data:`SEPARATOR`. An entry is a tag line, a blank
line, a ``DECISION:`` section and, once the outcome is known, a ``REFLECTION:`` section::

    [2026-01-10 | NVDA | Buy | pending]

    DECISION:
    Rating: Buy ...

and resolved::

    [2026-01-10 | NVDA | Buy | +4.2% | +2.1% | 5d]

    DECISION:
    Rating: Buy ...

    REFLECTION:
    Momentum confirmed.

This module is the format only (no storage): :func:`parse_entries` reads a log's text into entry
dicts exactly as TradingAgents' ``TradingMemoryLog.load_entries`` does, :func:`render_pending` and
:func:`render_resolved` write entries exactly as its ``store_decision`` and ``update_with_outcome``
do, and :func:`parse_rating` reads the five-tier rating of a decision as its ``parse_rating`` does.
"""

import re

#: The delimiter written after every entry (an HTML comment cannot appear in the prose it separates).
SEPARATOR = "\n\n<!-- ENTRY_END -->\n\n"

#: The five-tier rating scale, most bullish first.
RATINGS = ("Buy", "Overweight", "Hold", "Underweight", "Sell")
_RATING_WORDS = frozenset(r.lower() for r in RATINGS)

# "Rating: X", "rating - X", "**Rating**: X", "Rating: **X**": the word after the first ':' or '-'
# that follows "rating" on the line (and any spaces or asterisks).
_LABELLED_RATING = re.compile(r"rating.*?[:\-][\s*]*(\w+)", re.IGNORECASE)
_DECISION_SECTION = re.compile(r"DECISION:\n(.*?)(?=\nREFLECTION:|\Z)", re.DOTALL)
_REFLECTION_SECTION = re.compile(r"REFLECTION:\n(.*?)$", re.DOTALL)


def parse_rating(text, default="Hold"):
    """The rating of a decision's text: the first labelled rating (``Rating: Buy``, markdown bold
    allowed) of a line, else the first rating word anywhere, else ``default``. Title-cased."""
    lines = text.splitlines()
    for line in lines:
        match = _LABELLED_RATING.search(line)
        if match and match.group(1).lower() in _RATING_WORDS:
            return match.group(1).capitalize()
    for line in lines:
        for word in line.lower().split():
            word = word.strip("*:.,")
            if word in _RATING_WORDS:
                return word.capitalize()
    return default


def pending_tag(trade_date, ticker, rating):
    return "[%s | %s | %s | pending]" % (trade_date, ticker, rating)


def resolved_tag(trade_date, ticker, rating, raw, alpha=None, holding=None):
    """The tag of a resolved entry; ``alpha`` and ``holding`` are left out when None (as in entries
    written by hand or by older versions, which have fewer fields)."""
    fields = [trade_date, ticker, rating, raw] + [f for f in (alpha, holding) if f is not None]
    return "[%s]" % " | ".join(str(f) for f in fields)


def percent(fraction):
    """A return as the log writes it: ``0.042`` -> ``+4.2%``."""
    return "{:+.1%}".format(fraction)


def days(holding_days):
    """A holding period as the log writes it: ``5`` -> ``5d``."""
    return "%sd" % (holding_days,)


def render_pending(trade_date, ticker, rating, decision):
    """An entry as ``store_decision`` appends it (without the separator)."""
    return "%s\n\nDECISION:\n%s" % (pending_tag(trade_date, ticker, rating), decision)


def resolved_decision_text(decision):
    """The decision as it reads once its entry is resolved: TradingAgents rewrites the entry from
    its stripped lines, so trailing white space goes and every line break becomes ``\\n``."""
    return "\n".join(decision.rstrip().splitlines())


def render_resolved(tag, decision, reflection):
    """A resolved entry as ``update_with_outcome`` writes it (without the separator)."""
    text = resolved_decision_text(decision)
    section = "DECISION:\n" + text if text else "DECISION:"
    return "%s\n\n%s\n\nREFLECTION:\n%s" % (tag, section, reflection)


def render_log(blocks):
    """The text of a log whose entries are ``blocks``: each followed by the separator."""
    return "".join(block + SEPARATOR for block in blocks)


def parse_entry(raw):
    """One entry's text as a dict (``date``, ``ticker``, ``rating``, ``pending``, ``raw``,
    ``alpha``, ``holding``, ``decision``, ``reflection``), or None when it is not an entry."""
    lines = raw.strip().splitlines()
    if not lines:
        return None
    tag = lines[0].strip()
    if not (tag.startswith("[") and tag.endswith("]")):
        return None
    fields = [field.strip() for field in tag[1:-1].split("|")]
    if len(fields) < 4:
        return None
    pending = fields[3] == "pending"
    body = "\n".join(lines[1:]).strip()
    decision = _DECISION_SECTION.search(body)
    reflection = _REFLECTION_SECTION.search(body)
    return {
        "date": fields[0],
        "ticker": fields[1],
        "rating": fields[2],
        "pending": pending,
        "raw": None if pending else fields[3],
        "alpha": fields[4] if len(fields) > 4 else None,
        "holding": fields[5] if len(fields) > 5 else None,
        "decision": decision.group(1).strip() if decision else "",
        "reflection": reflection.group(1).strip() if reflection else "",
    }


def split_blocks(text):
    """The non-empty entry texts of a log, in order (each stripped)."""
    return [block.strip() for block in text.split(SEPARATOR) if block.strip()]


def parse_entries(text):
    """Every entry of a log's text, in order; blocks that are not entries are left out."""
    return [entry for entry in (parse_entry(block) for block in split_blocks(text)) if entry]


def format_full(entry):
    """A same-ticker entry as past context shows it: tag, decision and reflection."""
    tag = "[%s | %s | %s | %s | %s | %s]" % (entry["date"], entry["ticker"], entry["rating"], entry["raw"] or "n/a",
                                             entry["alpha"] or "n/a", entry["holding"] or "n/a")
    parts = [tag, "DECISION:\n" + entry["decision"]]
    if entry["reflection"]:
        parts.append("REFLECTION:\n" + entry["reflection"])
    return "\n\n".join(parts)


def format_reflection_only(entry):
    """A cross-ticker entry as past context shows it: a short tag and the reflection (or the first
    300 characters of the decision when there is none)."""
    tag = "[%s | %s | %s | %s]" % (entry["date"], entry["ticker"], entry["rating"], entry["raw"] or "n/a")
    if entry["reflection"]:
        return "%s\n%s" % (tag, entry["reflection"])
    decision = entry["decision"]
    return "%s\n%s%s" % (tag, decision[:300], "..." if len(decision) > 300 else "")


def past_context(entries, ticker, n_same=5, n_cross=3):
    """The prompt text of resolved ``entries`` (oldest first) for ``ticker``: the ``n_same`` latest
    of that ticker in full, then the ``n_cross`` latest of others as lessons; "" when there are none."""
    same, cross = [], []
    for entry in reversed(entries):
        if len(same) >= n_same and len(cross) >= n_cross:
            break
        if entry["ticker"] == ticker:
            if len(same) < n_same:
                same.append(entry)
        elif len(cross) < n_cross:
            cross.append(entry)
    parts = []
    if same:
        parts.append("Past analyses of %s (most recent first):" % ticker)
        parts.extend(format_full(entry) for entry in same)
    if cross:
        parts.append("Recent cross-ticker lessons:")
        parts.extend(format_reflection_only(entry) for entry in cross)
    return "\n\n".join(parts)
