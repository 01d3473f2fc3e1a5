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
"""

import functools
import importlib
import sys

from ..log import TradingMemoryLog as _HindsightLog
from ..memory import FinancialSituationMemory as _HindsightMemory

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


def install(config=None, point_in_time=False):
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
    wrapped = _wrap_graph("TradingMemoryLog" in replacements, point_in_time)
    _installed = Installation(_generation(module), sorted(replaced), originals, wrapped)
    return _installed


def _wrap_graph(has_log, point_in_time):
    """Gives the graph's log its situations and, with ``point_in_time``, sets reads as of each
    propagate's trade date. Returns [(class, attribute, original)] to undo it."""
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
    if point_in_time:
        original_propagate = graph.propagate

        @functools.wraps(original_propagate)
        def propagate(self, company_name, trade_date, *args, **kwargs):
            for value in list(vars(self).values()):
                if isinstance(value, (_HindsightLog, _HindsightMemory)):
                    value.as_of = trade_date
            return original_propagate(self, company_name, trade_date, *args, **kwargs)

        graph.propagate = propagate
        wrapped.append((graph, "propagate", original_propagate))
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
