"""``TradingMemoryLog``: TradingAgents' decision log (v0.2.4 and later), kept in the Hindsight engine.

Same constructor, methods, keywords, return values and prompt text as TradingAgents' own class, so
``TradingMemoryLog(config)`` can replace it (see :mod:`hindsight_memory.integrations.tradingagents`). The
entries live in a Hindsight collection (a decision is a pending memory; resolving it with its return
makes it live, visible from its known time on), which adds what a file cannot give: many processes
at once, crash safety, ``as_of=`` for back-tests, and ``get_similar_context`` by situation.

``memory_log_path`` keeps its meaning: after every change the same markdown file, in TradingAgents'
format, is rewritten atomically from the engine, and entries found in the file but not in the engine
(a log being migrated, entries written while the server was unreachable, entries added by hand) are
imported the next time the log is used. The engine is the source of truth: an entry deleted from the
file by hand comes back at the next rewrite.
"""

import collections
import datetime
import hashlib
import logging
import os
import re
import threading
from pathlib import Path

from . import markdown_log as fmt
from .client import HindsightError
from .connection import client_for
from .embedding import resolve_embedder
from .memory import _failure_advice, _iso

try:
    import fcntl
except ImportError:  # not POSIX: one process per log file
    fcntl = None

log = logging.getLogger("hindsight")

_PAGE = 1000
_warned = set()
_process_locks = collections.defaultdict(threading.Lock)


def _moment(value):
    """A timezone-aware datetime of a date, datetime, ISO string or Unix seconds (UTC when naive)."""
    if isinstance(value, datetime.datetime):
        return value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)
    if isinstance(value, datetime.date):
        return datetime.datetime(value.year, value.month, value.day, tzinfo=datetime.timezone.utc)
    if isinstance(value, (int, float)):
        return datetime.datetime.fromtimestamp(value, datetime.timezone.utc)
    text = str(value).strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    moment = datetime.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)


def known_at(trade_date, holding_days):
    """When an outcome over ``holding_days`` trading sessions from ``trade_date`` is known: the day
    after the last session, counting Monday to Friday as sessions (exchange holidays are not known
    here, so a holiday inside the period makes this one day early; pass ``known_at`` to be exact)."""
    day = _moment(trade_date).date()
    remaining = int(holding_days or 0)
    while remaining > 0:
        day += datetime.timedelta(days=1)
        if day.weekday() < 5:
            remaining -= 1
    return (day + datetime.timedelta(days=1)).isoformat()


def collection_for_path(path):
    """The collection that holds the log of a file: its name, sanitised, and a hash of its absolute path."""
    resolved = str(Path(path).expanduser().resolve())
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", Path(resolved).stem)[:64] or "log"
    return "log.%s.%s" % (stem, hashlib.sha256(resolved.encode("utf-8")).hexdigest()[:12])


class TradingMemoryLog:
    """TradingAgents' append-only decision log, stored in Hindsight.

    ``config`` is the framework's config dict (unknown keys are ignored); keyword arguments override it:

    - ``memory_log_path``: the markdown mirror (and the log's identity: its collection is derived from
      the absolute path unless ``memory_log_collection`` names one); without a path or a collection
      the log does nothing, as TradingAgents' does;
    - ``memory_log_max_entries``: keep at most this many resolved entries (pending ones are never dropped);
    - ``memory_log_collection``: the collection to use (then the path is optional);
    - ``server_url``, ``token``, ``namespace``, ``embedding``, ``timeout``: as for
      :class:`~hindsight.FinancialSituationMemory`;
    - ``as_of``: the default point in time of reads (a back-test's simulated date);
    - ``strict``: raise from ``get_past_context`` and ``store_decision`` instead of logging a warning.
    """

    _SEPARATOR = fmt.SEPARATOR
    #: Settings applied over the framework's config dict (``hindsight_memory.integrations.tradingagents.install`` sets them).
    _installed_settings = {}

    def __init__(self, config=None, **kw):
        settings = dict(config or {})
        settings.update(self._installed_settings)
        settings.update(kw)
        path = settings.get("memory_log_path")
        self._log_path = Path(path).expanduser() if path else None
        if self._log_path:
            self._log_path.parent.mkdir(parents=True, exist_ok=True)
        self._max_entries = settings.get("memory_log_max_entries")
        collection = settings.get("memory_log_collection") or (collection_for_path(self._log_path) if self._log_path else None)
        namespace = settings.get("namespace")
        self.collection = "%s.%s" % (namespace, collection) if namespace and collection else collection
        # In this process unless a server is named: by default the database sits beside the markdown file.
        beside = str(self._log_path.with_suffix(".hindsight")) if self._log_path else None
        self.client = client_for(settings, default_path=beside)
        self.embedder = resolve_embedder(settings.get("embedding"), self.client)
        self.as_of = settings.get("as_of")
        self.strict = bool(settings.get("strict", False))
        #: A callable returning the situation of the decision being stored (the integration sets it to
        #: the graph's four reports), or None: the decision's own text is embedded then.
        self.situation_source = None
        self._ready = False
        self._seen = None  # (inode, mtime, size) of the mirror as last read or written by this object

    @property
    def enabled(self):
        return self.collection is not None

    # -- write path ---------------------------------------------------------------------------------
    def store_decision(self, ticker, trade_date, final_trade_decision, situation=None):
        """Records the day's decision as pending. A (ticker, date) already pending is left as it is.
        When the engine cannot take it (server unreachable, no embedder), the entry is appended to
        the markdown file, imported once the engine is back, and a WARNING says so."""
        if not self.enabled:
            return
        if situation is None and self.situation_source is not None:
            situation = self.situation_source()
        rating = fmt.parse_rating(final_trade_decision)
        with self._locked():
            try:
                self._sync_locked()
                ids = self._ids(ticker, trade_date)
                if any(memory["status"] == "pending" for memory in ids.values()):
                    return
                record = self._record(ticker, trade_date, rating, final_trade_decision, situation, self._next_id(ticker, trade_date, ids))
                vectors = self._vectors([record["situation"]])
                self._ensure_collection(len(vectors[0]) if vectors else None)
                if vectors:
                    record["vector"] = vectors[0]
                try:
                    self.client.record_decision(self.collection, record)
                except HindsightError as error:
                    if error.code != "duplicate_id":
                        raise
                    return  # another process stored the same decision a moment ago
                self._write_mirror_locked()
            except HindsightError as error:
                if error.status in (400, 422) or not self._log_path:
                    raise
                self._append_to_file_locked(fmt.render_pending(trade_date, ticker, rating, final_trade_decision))
                self._warn("store_decision", error, "the decision of %s on %s was appended to %s only; it is imported into the "
                           "engine the next time the log is used with the server reachable" % (ticker, trade_date, self._log_path))
                if self.strict:
                    raise

    def update_with_outcome(self, ticker, trade_date, raw_return, alpha_return, holding_days, reflection, known_at=None):
        """Resolves the oldest pending entry of (ticker, trade_date) with its returns and reflection;
        does nothing when there is none. The outcome becomes visible to ``as_of`` reads at
        ``known_at`` (default: the day after ``holding_days`` sessions from the trade date)."""
        if not self.enabled:
            return
        with self._locked():
            self._sync_locked()
            if self._resolve_first_pending(ticker, trade_date, raw_return, alpha_return, holding_days, reflection, known_at):
                self._rotate_locked()
                self._write_mirror_locked()

    def batch_update_with_outcomes(self, updates):
        """:meth:`update_with_outcome` for each dict of ``updates`` (keys ``ticker``, ``trade_date``,
        ``raw_return``, ``alpha_return``, ``holding_days``, ``reflection``, optionally ``known_at``);
        one update per (ticker, trade_date), the last given winning; then one rotation and one rewrite."""
        if not self.enabled or not updates:
            return
        by_key = {(u["trade_date"], u["ticker"]): u for u in updates}
        with self._locked():
            self._sync_locked()
            for (trade_date, ticker), u in by_key.items():
                self._resolve_first_pending(ticker, trade_date, u["raw_return"], u["alpha_return"], u["holding_days"],
                                            u["reflection"], u.get("known_at"))
            self._rotate_locked()
            self._write_mirror_locked()

    # -- read path ----------------------------------------------------------------------------------
    def load_entries(self, as_of=None):
        """Every entry, oldest first, as dicts (``date``, ``ticker``, ``rating``, ``pending``,
        ``raw``, ``alpha``, ``holding``, ``decision``, ``reflection``) — what TradingAgents' parser
        reads from the markdown file. With ``as_of``: the log as it stood then (later decisions left
        out, outcomes known later shown as pending)."""
        if not self.enabled:
            return []
        self._refresh()
        return [fmt.parse_entry(block) for block in self._blocks(self._memories(), as_of or self.as_of)]

    def get_pending_entries(self, as_of=None):
        """The entries still waiting for their outcome (as of ``as_of`` when given)."""
        return [entry for entry in self.load_entries(as_of) if entry["pending"]]

    def get_past_context(self, ticker, n_same=5, n_cross=3, as_of=None):
        """The prompt text of the past: the ``n_same`` latest resolved entries of ``ticker`` in full,
        then the ``n_cross`` latest of other tickers as lessons; "" when there are none. With
        ``as_of``, only outcomes known by then. Never raises unless ``strict``: a failure is logged."""
        try:
            entries = [entry for entry in self.load_entries(as_of) if not entry["pending"]]
        except HindsightError as error:
            if self.strict:
                raise
            self._warn("get_past_context", error, "the prompt gets no past context")
            return ""
        return fmt.past_context(entries, ticker, n_same, n_cross) if entries else ""

    def get_similar_context(self, situation, n=5, ticker=None, as_of=None, decision_id=None):
        """The resolved past decisions whose situations are most like ``situation``, as
        ``get_past_context`` formats them: those of ``ticker`` in full, the others as lessons, most
        similar first; only outcomes known by ``as_of`` when given. "" when there are none.
        With ``decision_id`` (``decision_id(ticker, trade_date)``) the entries shown are recorded as
        that decision's provenance and credited when ``update_with_outcomes`` resolves it."""
        if not self.enabled or n <= 0:
            return ""
        try:
            self._refresh()
            options = {"k": n, "as_of": _iso(as_of or self.as_of), "decision_id": decision_id}
            results = self.client.query(self.collection, vectors=self._vectors([situation]), texts=[situation], **options)[0]
        except HindsightError as error:
            if error.code == "unknown_collection":
                return ""
            if self.strict:
                raise
            self._warn("get_similar_context", error, "the prompt gets no similar past decisions")
            return ""
        entries = [fmt.parse_entry(self._block(result, None)) for result in results]
        same = [e for e in entries if ticker is not None and e["ticker"] == ticker]
        cross = [e for e in entries if ticker is None or e["ticker"] != ticker]
        parts = []
        if same:
            parts.append("Past analyses of %s most like today's situation (most similar first):" % ticker)
            parts.extend(fmt.format_full(e) for e in same)
        if cross:
            parts.append("Lessons from the most similar situations of other tickers:" if ticker else
                         "Lessons from the most similar past situations:")
            parts.extend(fmt.format_reflection_only(e) for e in cross)
        return "\n\n".join(parts)

    def decision_id(self, ticker, trade_date):
        """The id that ``store_decision(ticker, trade_date, …)`` gives (or gave, while pending) the
        day's decision: pass it to ``get_similar_context`` so the outcome credits what was recalled."""
        ids = self._ids(ticker, trade_date)
        for caller_id, memory in ids.items():
            if memory["status"] == "pending":
                return caller_id
        return self._next_id(ticker, trade_date, ids)

    def provenance(self, decision_id, as_of=None):
        """What ``decision_id`` was shown and how each entry's credit stands (``HindsightClient.provenance``)."""
        return self.client.provenance(decision_id, as_of=_iso(as_of))

    # -- engine records -------------------------------------------------------------------------------
    @staticmethod
    def _base_id(ticker, trade_date):
        return "decision:%s:%s" % (ticker, trade_date)

    def _ids(self, ticker, trade_date):
        """The memories of (ticker, trade_date) by caller id: ``decision:T:D``, then ``:2``, ``:3``…
        (a day decided again after its first decision was resolved), up to the first missing one."""
        found = {}
        base = self._base_id(ticker, trade_date)
        for n in range(1, 10_000):
            caller_id = base if n == 1 else "%s:%d" % (base, n)
            try:
                found[caller_id] = self.client.memory(self.collection, caller_id=caller_id)
            except HindsightError as error:
                if error.code in ("unknown_memory", "unknown_collection"):
                    return found
                raise
        return found

    def _next_id(self, ticker, trade_date, taken):
        base = self._base_id(ticker, trade_date)
        n = len(taken) + 1
        return base if n == 1 else "%s:%d" % (base, n)

    def _record(self, ticker, trade_date, rating, decision, situation, caller_id):
        metadata = {"trade_date": str(trade_date), "rating": rating}
        if situation is not None and situation != decision:
            metadata["decision"] = decision
        return {"id": caller_id, "ticker": ticker, "time": _iso(trade_date) if not isinstance(trade_date, str) else trade_date,
                "situation": decision if situation is None else situation, "reflection": "", "action": rating,
                "metadata": metadata}

    def _resolve_first_pending(self, ticker, trade_date, raw_return, alpha_return, holding_days, reflection, when):
        for caller_id, memory in self._ids(ticker, trade_date).items():
            if memory["status"] != "pending":
                continue
            metadata = {"raw": fmt.percent(raw_return), "raw_return": float(raw_return),
                        "alpha": fmt.percent(alpha_return) if alpha_return is not None else "n/a",
                        "holding": fmt.days(holding_days)}
            if alpha_return is not None:
                metadata["alpha_return"] = float(alpha_return)
            if isinstance(holding_days, (int, float)):
                metadata["holding_days"] = holding_days
            moment = when if when is not None else known_at(trade_date, holding_days)
            try:
                self.client.resolve(self.collection, caller_id, reflection, outcome=float(raw_return), known_at=_iso(moment),
                                    metadata=metadata)
            except HindsightError as error:
                if error.code in ("not_pending", "unknown_memory"):
                    continue  # resolved or rotated away by another process meanwhile
                raise
            return True
        return False

    def _memories(self):
        """Every memory of the log's collection, oldest first ([] before the first entry)."""
        try:
            return self.client.memories_in_order(self.collection, page=_PAGE)
        except HindsightError as error:
            if error.code == "unknown_collection":
                return []
            raise

    @staticmethod
    def _block(memory, as_of):
        """A memory as the markdown entry it stands for; as of ``as_of`` an outcome known later is still pending."""
        metadata = memory.get("metadata") or {}
        trade_date = metadata.get("trade_date") or memory["time"][:10]
        ticker = memory.get("ticker") or ""
        rating = metadata.get("rating") or memory.get("action") or "Hold"
        decision = metadata.get("decision", memory["situation"])
        resolved = memory["status"] == "live" and (as_of is None or _moment(memory["known_at"]) <= _moment(as_of))
        if not resolved:
            return fmt.render_pending(trade_date, ticker, rating, decision)
        raw = metadata.get("raw") or (fmt.percent(memory["outcome"]) if memory.get("outcome") is not None else "n/a")
        tag = fmt.resolved_tag(trade_date, ticker, rating, raw, metadata.get("alpha"), metadata.get("holding"))
        return fmt.render_resolved(tag, decision, memory.get("reflection", ""))

    def _blocks(self, memories, as_of):
        if as_of is not None:
            memories = [m for m in memories if _moment(m["time"]) <= _moment(as_of)]
        return [self._block(m, as_of) for m in memories]

    def _ensure_collection(self, dimension=None):
        if self._ready:
            return
        if dimension is None:
            dimension = self.embedder.dimension() or len(self.embedder(["dimension probe"])[0])
        self.client.get_or_create_collection(self.collection, dimension, embedding_model=self.embedder.model)
        self._ready = True

    def _vectors(self, texts):
        return None if self.embedder.server_side else self.embedder(list(texts))

    def _rotate_locked(self):
        """Deletes the oldest resolved entries beyond ``memory_log_max_entries``."""
        if not self._max_entries or self._max_entries <= 0:
            return
        resolved = [m["engine_id"] for m in self._memories() if m["status"] == "live"]
        if len(resolved) > self._max_entries:
            self.client.delete(self.collection, engine_ids=resolved[:len(resolved) - self._max_entries])

    # -- the markdown mirror ----------------------------------------------------------------------
    def _lock_path(self):
        return self._log_path.with_suffix(".lock")

    class _Lock:
        """This process's lock and an exclusive ``flock`` on the log's lock file (no-op without a file)."""

        def __init__(self, owner):
            self.owner = owner
            self.handle = None
            self.thread_lock = _process_locks[str(owner._log_path)] if owner._log_path else None

        def __enter__(self):
            if self.thread_lock is None:
                return self
            self.thread_lock.acquire()
            if fcntl is not None:
                self.handle = open(self.owner._lock_path(), "a")
                fcntl.flock(self.handle, fcntl.LOCK_EX)
            return self

        def __exit__(self, *exc):
            if self.handle is not None:
                fcntl.flock(self.handle, fcntl.LOCK_UN)
                self.handle.close()
            if self.thread_lock is not None:
                self.thread_lock.release()
            return False

    def _locked(self):
        return self._Lock(self)

    def _refresh(self):
        """Imports the file's new entries first when it changed since this object last saw it."""
        if self._log_path is not None and self._stat() != self._seen:
            with self._locked():
                self._sync_locked()

    def _stat(self):
        try:
            st = os.stat(self._log_path)
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _sync_locked(self):
        """Imports the entries of the markdown file that the engine lacks (matched per (ticker,
        date) in order), keeps blocks that are not entries in a ``.unparsed.md`` file beside it, and
        rewrites the mirror when anything was imported."""
        if self._log_path is None:
            return
        stat = self._stat()
        if stat is None or stat == self._seen:
            self._seen = stat
            return
        text = self._log_path.read_text(encoding="utf-8")
        memories = self._memories()
        in_engine = collections.Counter((m.get("ticker") or "", (m.get("metadata") or {}).get("trade_date") or m["time"][:10])
                                        for m in memories)
        seen = collections.Counter()
        missing, unparsed = [], []
        for block in fmt.split_blocks(text):
            entry = fmt.parse_entry(block)
            if entry is None or not _is_date(entry["date"]):
                unparsed.append(block)
                continue
            key = (entry["ticker"], entry["date"])
            seen[key] += 1
            if seen[key] > in_engine[key]:
                missing.append(entry)
        if unparsed:
            kept = self._log_path.with_suffix(".unparsed.md")
            previous = kept.read_text(encoding="utf-8") if kept.exists() else ""
            new = [block for block in unparsed if block not in previous]
            if new:
                with open(kept, "a", encoding="utf-8") as handle:
                    handle.write(fmt.render_log(new))
                log.warning("%d block(s) of %s are not decision entries: kept in %s (the log file is rewritten from the engine)",
                            len(new), self._log_path, kept)
        if missing:
            self._import_locked(missing)
        self._write_mirror_locked()
        self._seen = self._stat()

    def _import_locked(self, entries):
        """Adds parsed file entries to the engine in file order (runs of live ones in one request)."""
        taken = collections.Counter()
        records = []
        for entry in entries:
            key = (entry["ticker"], entry["date"])
            if key not in taken:
                taken[key] = len(self._ids(entry["ticker"], entry["date"]))
            taken[key] += 1
            base = self._base_id(*key)
            record = self._record(entry["ticker"], entry["date"], entry["rating"], entry["decision"], None,
                                  base if taken[key] == 1 else "%s:%d" % (base, taken[key]))
            if entry["pending"]:
                record["status"] = "pending"
            else:
                metadata = record["metadata"]
                metadata["raw"] = entry["raw"]
                for key_name in ("alpha", "holding"):
                    if entry[key_name] is not None:
                        metadata[key_name] = entry[key_name]
                raw = _fraction(entry["raw"])
                if raw is not None:
                    record["outcome"] = raw
                    metadata["raw_return"] = raw
                alpha = _fraction(entry["alpha"])
                if alpha is not None:
                    metadata["alpha_return"] = alpha
                holding = _holding_days(entry["holding"])
                if holding is not None:
                    metadata["holding_days"] = holding
                record["reflection"] = entry["reflection"]
                record["known_at"] = known_at(entry["date"], holding or 0)
            records.append(record)
        vectors = self._vectors([r["situation"] for r in records])
        self._ensure_collection(len(vectors[0]) if vectors else None)
        if vectors:
            for record, vector in zip(records, vectors):
                record["vector"] = vector
        run = []
        for record in records + [None]:
            if run and (record is None or record.get("status") == "pending" or run[-1].get("status") == "pending"):
                self.client.add(self.collection, run)
                run = []
            if record is not None:
                run.append(record)
        log.info("imported %d entries of %s into collection %s", len(records), self._log_path, self.collection)

    def _write_mirror_locked(self):
        """Rewrites the markdown file from the engine (atomically: a temporary file renamed over it)."""
        if self._log_path is None:
            return
        memories = self._memories()
        if not memories and not self._log_path.exists():
            return
        text = fmt.render_log(self._blocks(memories, None))
        if self._log_path.exists() and self._log_path.read_text(encoding="utf-8") == text:
            self._seen = self._stat()
            return
        temporary = self._log_path.with_suffix(".tmp")
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self._log_path)
        self._seen = self._stat()

    def _append_to_file_locked(self, block):
        with open(self._log_path, "a", encoding="utf-8") as handle:
            handle.write(block + fmt.SEPARATOR)
            handle.flush()
            os.fsync(handle.fileno())

    def _warn(self, what, error, consequence):
        cause, advice = _failure_advice(error, self.client)
        level = logging.DEBUG if (what, cause) in _warned else logging.WARNING
        _warned.add((what, cause))
        log.log(level, "TradingMemoryLog.%s(%s): %s; %s", what, self.collection, advice, consequence)


def _is_date(text):
    """Whether an entry's date field is ``YYYY-MM-DD`` (the form TradingAgents writes; entries of
    other forms are kept aside, not imported)."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return False
    try:
        datetime.date.fromisoformat(text)
        return True
    except ValueError:
        return False


def _fraction(text):
    """``+4.2%`` -> 0.042; None when it is not a percentage."""
    if not text:
        return None
    match = re.fullmatch(r"\s*([+-]?\d+(?:\.\d+)?)\s*%\s*", text)
    return float(match.group(1)) / 100 if match else None


def _holding_days(text):
    match = re.fullmatch(r"\s*(\d+)\s*d\s*", text or "")
    return int(match.group(1)) if match else None
