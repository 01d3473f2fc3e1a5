"""Hindsight: the memory of LLM trading agents, from Python.

Drop-in replacements for the memory classes of multi-agent trading frameworks
(``FinancialSituationMemory``, ``TradingMemoryLog``), with the engine in this process
(``libHindsightC.so``, no server) or a ``hindsight serve`` process over HTTP; standard library only.
"""

from .client import HindsightClient, HindsightError
from .connection import connect
from .native import fetch_model
from .embedding import resolve_embedder
from .log import TradingMemoryLog
from .memory import FinancialSituationMemory
from .migrate import import_chroma
from .prompts import format_analogues

__all__ = ["FinancialSituationMemory", "TradingMemoryLog", "HindsightClient", "HindsightError", "connect", "fetch_model", "format_analogues", "import_chroma", "resolve_embedder"]
__version__ = "0.1.0"
