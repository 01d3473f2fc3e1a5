"""One line to put a TradingAgents graph's memory on Hindsight, whatever its generation::

    import hindsight_memory.integrations.tradingagents as hindsight_ta
    hindsight_ta.install(config={"server_url": "http://127.0.0.1:8765"})

    from tradingagents.graph.trading_graph import TradingAgentsGraph   # before or after: both work
    graph = TradingAgentsGraph(config=config)

:func:`install` replaces the memory classes of the TradingAgents that is importable — before the
graph is built, with no framework file edited:

- v0.1 (ChromaDB) and v0.2.0–0.2.3 (BM25), and TradingAgents-CN: ``FinancialSituationMemory(name,
  config)`` becomes :class:`hindsight.FinancialSituationMemory` (the five role memories);
- v0.2.4 and later: ``TradingMemoryLog(config)`` becomes :class:`hindsight.TradingMemoryLog` (the
  decision log, its markdown file kept), and the graph hands the log each decision's situation (its
  four analyst reports) so :meth:`~hindsight.TradingMemoryLog.get_similar_context` can recall by it.

``point_in_time=True`` makes every read of a ``propagate(ticker, trade_date)`` call as of its trade
date, so a back-test sees no outcome known later (TradingAgents' own log has no such guard).

``credit_holding_days=N`` (role-memory generations) records what each role recalled during a
``propagate(ticker, trade_date)`` as the provenance of decision ``decision:TICKER:DATE``, and has
``reflect_and_remember(returns)`` credit those memories with the returns, signed by the decision's
signal and known N trading sessions after the trade date (Monday to Friday counted, as the decision
log counts them). Role memories configured with ``credit`` then rank them by it.
"""

import functools
import importlib
import logging
import sys

from ..log import TradingMemoryLog as _HindsightLog
from ..log import known_at as _known_at
from ..errors import HindsightError
from ..memory import FinancialSituationMemory as _HindsightMemory

_log = logging.getLogger("hindsight")

MEMORY_MODULE = "tradingagents.agents.utils.memory"
GRAPH_MODULE = "tradingagents.graph.trading_graph"
_REPORTS = ("market_report", "sentiment_report", "news_report", "fundamentals_report")

_installed = None


class Installation:
    """What :func:`install` did: the generation found and each (module, name) it replaced."""

    def __init__(self, generation, replaced, originals, wrapped):
        self.generation = generation
        self.replaced = replaced
        self._originals = originals
        self._wrapped = wrapped

    def __repr__(self):
        return "Installation(generation=%r, replaced=%r)" % (self.generation, self.replaced)


def _generation(module):
    if hasattr(module, "TradingMemoryLog"):
        return "v0.2.4+ (decision log)"
    if hasattr(module, "ChromaDBManager") or "ChromaDBManager" in getattr(module, "__dict__", {}):
        return "TradingAgents-CN"
    if hasattr(module, "BM25Okapi"):
        return "v0.2 (BM25)"
    return "v0.1 (ChromaDB)"


def situation_of(state):
    """A graph state's situation as TradingAgents writes it: its four reports joined by blank lines."""
    return "\n\n".join(str(state.get(key) or "") for key in _REPORTS)


def install(config=None, point_in_time=False, credit_holding_days=None):
    """Replaces the memory classes of the importable TradingAgents with Hindsight's.

    ``config``: Hindsight settings (``server_url``, ``token``, ``namespace``, ``embedding``,
    ``strict``, ``memory_log_collection``…) applied over the framework's config dict whenever the
    framework builds a memory. Returns an :class:`Installation`; raises ImportError when no
    TradingAgents memory module can be imported. Installing again first undoes the previous install.
    """
    global _installed
    if _installed is not None:
        uninstall()
    try:
        module = importlib.import_module(MEMORY_MODULE)
    except ImportError as error:
        raise ImportError("no TradingAgents memory module (%s) can be imported: install TradingAgents or TradingAgents-CN "
                          "first (%s)" % (MEMORY_MODULE, error)) from error
    settings = dict(config or {})
    originals, replacements = {}, {}
    for name, ours in (("TradingMemoryLog", _HindsightLog), ("FinancialSituationMemory", _HindsightMemory)):
        theirs = getattr(module, name, None)
        if theirs is None or getattr(theirs, "_hindsight_installed", False):
            continue
        originals[name] = theirs
        replacements[name] = type(name, (ours,), {"_installed_settings": settings, "_hindsight_installed": True,
                                                  "__module__": ours.__module__, "__doc__": ours.__doc__})
    if not replacements:
        raise ImportError("%s defines neither TradingMemoryLog nor FinancialSituationMemory: not a TradingAgents "
                          "generation this installer knows" % MEMORY_MODULE)
    # Every module that imported a class by name holds its own reference: replace those too.
    replaced = []
    for module_name, loaded in list(sys.modules.items()):
        namespace = getattr(loaded, "__dict__", None)
        if not isinstance(namespace, dict):
            continue
        for name, theirs in originals.items():
            if namespace.get(name) is theirs:
                setattr(loaded, name, replacements[name])
                replaced.append((module_name, name))
    if credit_holding_days is not None and (not isinstance(credit_holding_days, int) or credit_holding_days < 0):
        raise ValueError("credit_holding_days is a whole number of trading sessions, not %r" % (credit_holding_days,))
    wrapped = _wrap_graph("TradingMemoryLog" in replacements, point_in_time, credit_holding_days)
    _installed = Installation(_generation(module), sorted(replaced), originals, wrapped)
    return _installed


def _role_memories(graph):
    return [value for value in vars(graph).values() if isinstance(value, _HindsightMemory)]


def _wrap_graph(has_log, point_in_time, credit_holding_days=None):
    """Gives the graph's log its situations; with ``point_in_time`` sets reads as of each
    propagate's trade date; with ``credit_holding_days`` records each propagate's recalls as its
    decision's provenance and credits them on reflect_and_remember. Returns [(class, attribute,
    original)] to undo it."""
    try:
        graph_module = importlib.import_module(GRAPH_MODULE)
    except ImportError:
        return []
    graph = getattr(graph_module, "TradingAgentsGraph", None)
    if graph is None:
        return []
    wrapped = []
    if has_log:
        original_init = graph.__init__

        @functools.wraps(original_init)
        def __init__(self, *args, **kwargs):
            original_init(self, *args, **kwargs)
            memory_log = getattr(self, "memory_log", None)
            if isinstance(memory_log, _HindsightLog):
                memory_log.situation_source = lambda: situation_of(getattr(self, "curr_state", None) or {})

        graph.__init__ = __init__
        wrapped.append((graph, "__init__", original_init))
    if point_in_time or credit_holding_days is not None:
        original_propagate = graph.propagate

        @functools.wraps(original_propagate)
        def propagate(self, company_name, trade_date, *args, **kwargs):
            if point_in_time:
                for value in list(vars(self).values()):
                    if isinstance(value, (_HindsightLog, _HindsightMemory)):
                        value.as_of = trade_date
            if credit_holding_days is None:
                return original_propagate(self, company_name, trade_date, *args, **kwargs)
            decision = _HindsightLog._base_id(company_name, trade_date)
            memories = _role_memories(self)
            for memory in memories:
                memory.decision_id = decision
            try:
                result = original_propagate(self, company_name, trade_date, *args, **kwargs)
            finally:
                for memory in memories:
                    memory.decision_id = None
            signal = result[1] if isinstance(result, tuple) and len(result) > 1 and isinstance(result[1], str) else None
            self._hindsight_decision = (decision, trade_date, signal)
            return result

        graph.propagate = propagate
        wrapped.append((graph, "propagate", original_propagate))
    original_reflect = getattr(graph, "reflect_and_remember", None)
    if credit_holding_days is not None and original_reflect is not None:

        @functools.wraps(original_reflect)
        def reflect_and_remember(self, returns_losses, *args, **kwargs):
            result = original_reflect(self, returns_losses, *args, **kwargs)
            decision = getattr(self, "_hindsight_decision", None)
            memories = _role_memories(self)
            if decision is not None and memories:
                self._hindsight_decision = None
                name, trade_date, signal = decision
                try:
                    memories[0].credit_decision(name, float(returns_losses), action=signal,
                                                known_at=_known_at(trade_date, credit_holding_days))
                except HindsightError as error:  # e.g. a back-test run again on the same database: credited already
                    if memories[0].strict:
                        raise
                    _log.warning("reflect_and_remember: decision %s was not credited: %s", name, error)
            return result

        graph.reflect_and_remember = reflect_and_remember
        wrapped.append((graph, "reflect_and_remember", original_reflect))
    return wrapped


def uninstall():
    """Puts the framework's own classes back (in every module that holds the replacements)."""
    global _installed
    if _installed is None:
        return
    for module_name, loaded in list(sys.modules.items()):
        namespace = getattr(loaded, "__dict__", None)
        if not isinstance(namespace, dict):
            continue
        for name, theirs in _installed._originals.items():
            current = namespace.get(name)
            if current is not None and getattr(current, "_hindsight_installed", False):
                setattr(loaded, name, theirs)
    for owner, attribute, original in _installed._wrapped:
        setattr(owner, attribute, original)
    _installed = None
