"""Hindsight: the memory of LLM trading agents, from Python.

A drop-in replacement for the ``FinancialSituationMemory`` class of multi-agent trading frameworks
(ChromaDB plus a paid embedding API today), talking to a ``hindsight serve`` process over HTTP with
the standard library only.
"""

from .client import HindsightClient, HindsightError
from .embedding import resolve_embedder
from .log import TradingMemoryLog
from .memory import FinancialSituationMemory

__all__ = ["FinancialSituationMemory", "TradingMemoryLog", "HindsightClient", "HindsightError", "resolve_embedder"]
__version__ = "0.1.0"
