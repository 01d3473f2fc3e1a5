"""hindsight_memory.integrations.tradingagents.install() against stand-ins shaped like each TradingAgents
generation: the same module paths, class names, constructor calls and memory calls as theirs, with
the LLM parts left out. Each runs in its own interpreter, so no generation sees another's modules."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

CLIENT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))

PACKAGE_INITS = ["tradingagents/__init__.py", "tradingagents/agents/__init__.py", "tradingagents/agents/utils/__init__.py",
                 "tradingagents/graph/__init__.py"]

# The role memories of v0.1 (ChromaDB + OpenAI embeddings), v0.2.0-0.2.3 (BM25) and TradingAgents-CN.
ROLE_MEMORY = '''
class FinancialSituationMemory:
    def __init__(self, name, config):
        raise RuntimeError("the framework's own memory was built: it would call %s")
    def add_situations(self, situations_and_advice):
        raise RuntimeError("framework memory used")
    def get_memories(self, current_situation, n_matches=1):
        raise RuntimeError("framework memory used")
'''

ROLE_GRAPH = '''
from tradingagents.agents.utils.memory import FinancialSituationMemory

class TradingAgentsGraph:
    def __init__(self, config=None):
        self.config = dict(config or {})
        self.bull_memory = FinancialSituationMemory("bull_memory", self.config)
        self.bear_memory = FinancialSituationMemory("bear_memory", self.config)
        self.trader_memory = FinancialSituationMemory("trader_memory", self.config)
        self.invest_judge_memory = FinancialSituationMemory("invest_judge_memory", self.config)
        self.risk_manager_memory = FinancialSituationMemory("risk_manager_memory", self.config)

    def propagate(self, company_name, trade_date):
        self.curr_situation = "%s on %s: export restrictions tighten, guidance cut" % (company_name, trade_date)
        past = self.bull_memory.get_memories(self.curr_situation, n_matches=2)
        self.past_recommendations = [m["recommendation"] for m in past]
        return {"final_trade_decision": "SELL"}, "SELL"

    def reflect_and_remember(self, returns_losses):
        for memory in (self.bull_memory, self.bear_memory, self.trader_memory, self.invest_judge_memory, self.risk_manager_memory):
            memory.add_situations([(self.curr_situation, "lesson: returns %s" % returns_losses)])
'''

# v0.2.4 and later: the decision log, called as TradingAgents 0.3.0's graph calls it.
LOG_MEMORY = '''
class TradingMemoryLog:
    _SEPARATOR = "x"
    def __init__(self, config=None):
        raise RuntimeError("the framework's own log was built")
'''

LOG_GRAPH = '''
from tradingagents.agents.utils.memory import TradingMemoryLog

class TradingAgentsGraph:
    def __init__(self, config=None):
        self.config = dict(config or {})
        self.memory_log = TradingMemoryLog(self.config)

    def _resolve_pending_entries(self, ticker):
        pending = [e for e in self.memory_log.get_pending_entries() if e["ticker"] == ticker]
        updates = [{"ticker": ticker, "trade_date": e["date"], "raw_return": -0.04, "alpha_return": -0.01, "holding_days": 5,
                    "reflection": "Sold into the cut: right."} for e in pending]
        if updates:
            self.memory_log.batch_update_with_outcomes(updates)

    def propagate(self, company_name, trade_date):
        self._resolve_pending_entries(company_name)
        self.past_context = self.memory_log.get_past_context(company_name)
        self.curr_state = {"market_report": "# Market\\nRSI 71, MACD crossing down.",
                           "sentiment_report": "# Sentiment\\nBearish.",
                           "news_report": "# News\\n%s: export restrictions tighten, guidance cut." % company_name,
                           "fundamentals_report": "# Fundamentals\\nP/E 60.",
                           "final_trade_decision": "**Rating**: Underweight\\nTrim into strength."}
        self.memory_log.store_decision(ticker=company_name, trade_date=trade_date,
                                       final_trade_decision=self.curr_state["final_trade_decision"])
        return self.curr_state, "Underweight"
'''

GENERATIONS = {
    "v0.1 (ChromaDB)": {"tradingagents/agents/utils/memory.py": "import os\n" + ROLE_MEMORY % "OpenAI embeddings",
                        "tradingagents/graph/trading_graph.py": ROLE_GRAPH},
    "v0.2 (BM25)": {"tradingagents/agents/utils/memory.py": "BM25Okapi = object  # from rank_bm25 import BM25Okapi\n" + ROLE_MEMORY % "BM25",
                    "tradingagents/graph/trading_graph.py": ROLE_GRAPH},
    "TradingAgents-CN": {"tradingagents/agents/utils/memory.py": "class ChromaDBManager:\n    pass\n" + ROLE_MEMORY % "DashScope",
                         "tradingagents/graph/trading_graph.py": ROLE_GRAPH},
    "v0.2.4+ (decision log)": {"tradingagents/agents/utils/memory.py": LOG_MEMORY,
                               "tradingagents/graph/trading_graph.py": LOG_GRAPH},
}

# Run in a fresh interpreter: install (after the graph module was imported, as a user might), two
# rounds of propagate with a reflection or a resolution between, and a second graph (a restart).
SCRIPT = '''
import json, sys
import tradingagents.graph.trading_graph as tg
import hindsight_memory.integrations.tradingagents as hindsight_ta
credit = len(sys.argv) > 3
settings = {"server_url": sys.argv[1], "namespace": "standin"}
if credit:
    settings["credit"] = {"beta": 0.2, "scale": 0.05}
installation = hindsight_ta.install(config=settings, point_in_time=True, credit_holding_days=5 if credit else None)
graph = tg.TradingAgentsGraph(config={"memory_log_path": sys.argv[2]})
report = {"generation": installation.generation, "replaced": installation.replaced}
graph.propagate("NVDA", "2026-01-05")
if hasattr(graph, "reflect_and_remember"):
    graph.reflect_and_remember(-0.04)
    restarted = tg.TradingAgentsGraph(config={})
    restarted.propagate("NVDA", "2026-01-12")
    report["recalled"] = restarted.past_recommendations
    if credit:
        restarted.reflect_and_remember(0.02)
        report["provenance"] = restarted.bull_memory.provenance("decision:NVDA:2026-01-05")
        report["second"] = restarted.bull_memory.provenance("decision:NVDA:2026-01-12")
    report["classes"] = sorted({type(m).__module__ for m in vars(restarted).values() if hasattr(m, "get_memories")})
else:
    restarted = tg.TradingAgentsGraph(config={"memory_log_path": sys.argv[2]})
    restarted.propagate("NVDA", "2026-01-13")
    report["past_context"] = restarted.past_context
    report["similar"] = restarted.memory_log.get_similar_context("export restrictions tighten, guidance cut", n=1, ticker="NVDA")
    report["as_of"] = restarted.memory_log.as_of
    report["file"] = open(sys.argv[2], encoding="utf-8").read()
hindsight_ta.uninstall()
try:
    tg.TradingAgentsGraph(config={})
    report["uninstalled"] = False
except RuntimeError:
    report["uninstalled"] = True
print(json.dumps(report))
'''


def run_generation(tmp_path, files, server_url, *extra):
    root = tmp_path / "standin"
    for path in PACKAGE_INITS:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text("", encoding="utf-8")
    for path, text in files.items():
        (root / path).write_text(textwrap.dedent(text), encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(root), CLIENT]))
    done = subprocess.run([sys.executable, "-c", SCRIPT, server_url, str(tmp_path / "memory" / "trading_memory.md"), *extra],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("generation", ["v0.1 (ChromaDB)", "v0.2 (BM25)", "TradingAgents-CN"])
def test_role_memory_generations(server, tmp_path, generation):
    report = run_generation(tmp_path, GENERATIONS[generation], server.url)
    assert report["generation"] == generation
    assert report["replaced"] == [["tradingagents.agents.utils.memory", "FinancialSituationMemory"],
                                  ["tradingagents.graph.trading_graph", "FinancialSituationMemory"]]
    assert report["classes"] == ["hindsight_memory.memory"]
    # The restarted graph recalled the first round's lesson (written by reflect_and_remember).
    assert report["recalled"] == ["lesson: returns -0.04"]
    assert report["uninstalled"] is True


def test_role_memories_credit_what_each_decision_recalled(server, tmp_path):
    """With credit_holding_days, a propagate's recalls are its decision's provenance and
    reflect_and_remember credits them: the second round recalled the first round's lesson, and the
    decisions (SELL before a 4% fall, SELL before a 2% rise) credited what they were shown, known five sessions later."""
    report = run_generation(tmp_path, GENERATIONS["v0.2 (BM25)"], server.url, "credit")
    assert report["recalled"] == ["lesson: returns -0.04"]
    first = report["provenance"]
    assert first["resolution"]["action"] == "SELL" and first["resolution"]["credit"] == pytest.approx(0.04)
    assert first["resolution"]["known_at"].startswith("2026-01-13") and first["shown"] == []  # nothing to recall yet
    # The restart's decision (SELL, then +2%) recalled the first lesson and debited it.
    second = report["second"]
    assert second["resolution"]["credit"] == pytest.approx(-0.02) and second["resolution"]["known_at"].startswith("2026-01-20")
    assert [s["memory"]["reflection"] for s in second["shown"]] == ["lesson: returns -0.04"]
    assert second["shown"][0]["credit"] == pytest.approx(-0.02) and second["shown"][0]["factor"] < 1


def test_decision_log_generation(server, tmp_path):
    report = run_generation(tmp_path, GENERATIONS["v0.2.4+ (decision log)"], server.url)
    assert report["generation"] == "v0.2.4+ (decision log)"
    assert report["replaced"] == [["tradingagents.agents.utils.memory", "TradingMemoryLog"],
                                  ["tradingagents.graph.trading_graph", "TradingMemoryLog"]]
    # The second run resolved the first decision (five sessions: known from the 13th) and read it as
    # past context as of its own date.
    assert report["past_context"].startswith("Past analyses of NVDA (most recent first):\n\n"
                                             "[2026-01-05 | NVDA | Underweight | -4.0% | -1.0% | 5d]\n\nDECISION:\n**Rating**: Underweight")
    assert report["as_of"] == "2026-01-13"
    # The situation stored was the four reports: recall by situation finds the decision.
    assert report["similar"].startswith("Past analyses of NVDA most like today's situation")
    assert "[2026-01-13 | NVDA | Underweight | pending]" in report["file"]
    assert report["uninstalled"] is True


def test_install_without_tradingagents_says_so(tmp_path):
    env = dict(os.environ, PYTHONPATH=CLIENT)
    done = subprocess.run([sys.executable, "-c", "import hindsight_memory.integrations.tradingagents as t; t.install()"],
                          env=env, capture_output=True, text=True, timeout=60, cwd=str(tmp_path))
    assert done.returncode != 0 and "no TradingAgents memory module" in done.stderr
