"""``TradingMemoryLog``-style decision log: decisions stay pending until their outcome is known."""

import datetime

from .client import HindsightError
from .memory import FinancialSituationMemory, _iso

_ACTIONS = ("BUY", "SELL", "HOLD")


def _day(value):
    """``YYYY-MM-DD`` of a date, datetime, ISO string or Unix seconds (UTC)."""
    if isinstance(value, str):
        return value[:10]
    if isinstance(value, (int, float)):
        return datetime.datetime.fromtimestamp(value, datetime.timezone.utc).date().isoformat()
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.timezone.utc).date().isoformat() if value.tzinfo else value.date().isoformat()
    return value.isoformat()


def _action(decision):
    words = set("".join(c if c.isalpha() else " " for c in decision.upper()).split())
    found = [a for a in _ACTIONS if a in words]
    return found[0] if len(found) == 1 else None


class TradingMemoryLog(FinancialSituationMemory):
    """Records each decision as pending (no query sees it), resolves it once the return is known, and
    hands back the recent past for a prompt. Ids are ``decision:TICKER:YYYY-MM-DD``, the same as the
    Swift client's, so both can share a collection."""

    def __init__(self, name="trader_memory", config=None, **kw):
        super().__init__(name, config, **kw)

    @staticmethod
    def decision_id(ticker, trade_date):
        return "decision:%s:%s" % (ticker, _day(trade_date))

    def store_decision(self, ticker, trade_date, decision, situation=None):
        """Records today's decision as pending; returns its engine id."""
        text = situation or decision
        vectors = self._vectors([text])
        self._ensure_collection(len(vectors[0]) if vectors else None)
        record = {"id": self.decision_id(ticker, trade_date), "ticker": ticker, "time": _iso(trade_date) if not isinstance(trade_date, str) else trade_date,
                  "situation": text, "reflection": "", "metadata": {"decision": decision}}
        action = _action(decision)
        if action:
            record["action"] = action
        if vectors:
            record["vector"] = vectors[0]
        return self.client.record_decision(self.collection, record)

    def update_with_outcome(self, ticker, trade_date, raw_return, alpha_return=None, holding_days=None, reflection=""):
        """Resolves the decision with its realised return; it becomes known ``holding_days`` after
        ``trade_date`` (now when not given). Returns the stored memory."""
        day = datetime.date.fromisoformat(_day(trade_date))
        known_at = (day + datetime.timedelta(days=holding_days)).isoformat() if holding_days is not None else None
        metadata = {"raw_return": float(raw_return)}
        if alpha_return is not None:
            metadata["alpha_return"] = float(alpha_return)
        if holding_days is not None:
            metadata["holding_days"] = holding_days
        return self.client.resolve(self.collection, self.decision_id(ticker, trade_date), reflection, outcome=float(raw_return),
                                   known_at=known_at, metadata=metadata)

    def get_pending_entries(self):
        """Decisions waiting for their outcome: dicts with ticker, trade_date, decision."""
        try:
            pending = self.client.pending(self.collection)
        except HindsightError as error:
            if error.code == "unknown_collection":
                return []
            raise
        return [{"ticker": m.get("ticker"), "trade_date": m["time"][:10], "decision": m.get("metadata", {}).get("decision", m["situation"]),
                 "id": m["id"]} for m in pending]

    def get_past_entries(self, ticker, n_same=5, n_cross=3, as_of=None):
        """The ``n_same`` latest resolved decisions for ``ticker`` and ``n_cross`` for other tickers."""
        as_of = _iso(as_of or self.as_of)
        try:
            same = self.client.recent(self.collection, ticker=ticker, limit=n_same, as_of=as_of)
            cross = self.client.recent(self.collection, exclude_ticker=ticker, limit=n_cross, as_of=as_of)
        except HindsightError as error:
            if error.code == "unknown_collection":
                return [], []
            raise
        return same, cross

    def get_past_context(self, ticker, n_same=5, n_cross=3, as_of=None):
        """The recent past as text for a prompt (empty when there is none)."""
        same, cross = self.get_past_entries(ticker, n_same, n_cross, as_of)

        def line(m):
            meta = m.get("metadata", {})
            parts = ["%s %s %s" % (m["time"][:10], m.get("ticker") or "-", m.get("action") or meta.get("decision", ""))]
            if m.get("outcome") is not None:
                parts.append("return %+.2f%%" % (100 * m["outcome"]))
            if "alpha_return" in meta:
                parts.append("alpha %+.2f%%" % (100 * meta["alpha_return"]))
            if "holding_days" in meta:
                parts.append("over %d days" % meta["holding_days"])
            return "- " + ", ".join(parts) + (". Reflection: " + m["reflection"] if m.get("reflection") else "")

        blocks = []
        if same:
            blocks.append("Past decisions for %s:\n%s" % (ticker, "\n".join(line(m) for m in same)))
        if cross:
            blocks.append("Recent decisions on other tickers:\n%s" % "\n".join(line(m) for m in cross))
        return "\n\n".join(blocks)
