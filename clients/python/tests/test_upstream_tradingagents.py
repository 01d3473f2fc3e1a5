"""TradingAgents' own tests of its TradingMemoryLog, run against Hindsight's class.

Given ``HINDSIGHT_UPSTREAM_TESTS=/path/to/TradingAgents/tests/test_memory_log.py`` (a checkout of
TradingAgents v0.3.0 or later, with its dependencies installed in the interpreter named by
``HINDSIGHT_UPSTREAM_PYTHON``, default this one), the file runs with Hindsight's classes installed
by ``hindsight_memory.integrations.tradingagents``, once with a fresh server and once with the engine in
process and no server at all; every one of its tests must pass both times.
Skipped (and reported as skipped) when no copy is given: CI machines cannot fetch the framework.
"""

import json
import os
import re
import subprocess
import sys

import pytest

from conftest import Server
from hindsight_memory import TradingMemoryLog

UPSTREAM = os.environ.get("HINDSIGHT_UPSTREAM_TESTS")
HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT = os.path.dirname(HERE)


@pytest.mark.skipif(not UPSTREAM, reason="set HINDSIGHT_UPSTREAM_TESTS to TradingAgents' tests/test_memory_log.py to run it")
@pytest.mark.parametrize("transport", ["server", "in-process"])
def test_upstream_memory_log_tests_pass_against_hindsight(transport):
    assert os.path.exists(UPSTREAM), UPSTREAM
    checkout = os.path.dirname(os.path.dirname(os.path.abspath(UPSTREAM)))
    python = os.environ.get("HINDSIGHT_UPSTREAM_PYTHON", sys.executable)
    server = Server() if transport == "server" else None
    try:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([HERE, CLIENT, checkout]))
        env.pop("HINDSIGHT_URL", None)
        if server:
            env["HINDSIGHT_URL"] = server.url
        done = subprocess.run([python, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", "-p", "hindsight_upstream_plugin",
                               UPSTREAM], cwd=checkout, env=env, capture_output=True, text=True, timeout=900)
    finally:
        if server:
            server.stop()
    output = done.stdout + done.stderr
    assert "hindsight installed into TradingAgents v0.2.4+ (decision log)" in output, output[-3000:]
    summary = output.strip().splitlines()[-1]
    assert done.returncode == 0, output[-5000:]
    assert re.search(r"\b\d+ passed\b", summary) and not re.search(r"failed|error|skipped", summary), summary
    print(summary)


READ_WITH_UPSTREAM = """
import json, sys
from tradingagents.agents.utils.memory import TradingMemoryLog
log = TradingMemoryLog({"memory_log_path": sys.argv[1]})
print(json.dumps({"entries": log.load_entries(), "pending": log.get_pending_entries(),
                  "context": {t: log.get_past_context(t) for t in ("NVDA", "600519.SH", "BRK.B")}}))
"""


@pytest.mark.skipif(not UPSTREAM, reason="set HINDSIGHT_UPSTREAM_TESTS to TradingAgents' tests/test_memory_log.py to run it")
def test_upstream_reads_our_markdown_file_as_we_do(server, tmp_path):
    checkout = os.path.dirname(os.path.dirname(os.path.abspath(UPSTREAM)))
    python = os.environ.get("HINDSIGHT_UPSTREAM_PYTHON", sys.executable)
    path = str(tmp_path / "trading_memory.md")
    log = TradingMemoryLog({"memory_log_path": path, "server_url": server.url, "memory_log_max_entries": 4})
    for i, (ticker, decision) in enumerate([("NVDA", "**Rating**: Buy\nAdd on dips.  \n"), ("600519.SH", "评级：卖出\nRating: Sell\n估值偏高。"),
                                            ("BRK.B", "1. Rating: Hold\n\n---\n\nWait."), ("NVDA", "The sell case is weak.\nRating: Overweight"),
                                            ("600519.SH", "No rating word here."), ("BRK.B", "Rating: Underweight\r\nTrim.")]):
        log.store_decision(ticker, "2026-01-%02d" % (5 + i), decision)
        if i < 5:
            log.update_with_outcome(ticker, "2026-01-%02d" % (5 + i), 0.013 * (i - 2), -0.004 * i, 3 + i, "Lesson %d." % i)
    env = dict(os.environ, PYTHONPATH=checkout)
    done = subprocess.run([python, "-c", READ_WITH_UPSTREAM, path], cwd=checkout, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    theirs = json.loads(done.stdout.strip().splitlines()[-1])
    assert theirs["entries"] == log.load_entries() and len(theirs["entries"]) == 5  # four resolved kept, one pending
    assert theirs["pending"] == log.get_pending_entries()
    assert theirs["context"] == {t: log.get_past_context(t) for t in ("NVDA", "600519.SH", "BRK.B")}
