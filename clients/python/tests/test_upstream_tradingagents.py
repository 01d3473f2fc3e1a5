"""TradingAgents' own tests of its TradingMemoryLog, run against Hindsight's class.

Given ``HINDSIGHT_UPSTREAM_TESTS=/path/to/TradingAgents/tests/test_memory_log.py`` (a checkout of
TradingAgents v0.3.0 or later, with its dependencies installed in the interpreter named by
``HINDSIGHT_UPSTREAM_PYTHON``, default this one), the file runs with Hindsight's classes installed
by ``hindsight.integrations.tradingagents`` and a fresh server; every one of its tests must pass.
Skipped (and reported as skipped) when no copy is given: CI machines cannot fetch the framework.
"""

import os
import re
import subprocess
import sys

import pytest

from conftest import Server

UPSTREAM = os.environ.get("HINDSIGHT_UPSTREAM_TESTS")
HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT = os.path.dirname(HERE)


@pytest.mark.skipif(not UPSTREAM, reason="set HINDSIGHT_UPSTREAM_TESTS to TradingAgents' tests/test_memory_log.py to run it")
def test_upstream_memory_log_tests_pass_against_hindsight():
    assert os.path.exists(UPSTREAM), UPSTREAM
    checkout = os.path.dirname(os.path.dirname(os.path.abspath(UPSTREAM)))
    python = os.environ.get("HINDSIGHT_UPSTREAM_PYTHON", sys.executable)
    server = Server()
    try:
        env = dict(os.environ, HINDSIGHT_URL=server.url, PYTHONPATH=os.pathsep.join([HERE, CLIENT, checkout]))
        done = subprocess.run([python, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", "-p", "hindsight_upstream_plugin",
                               UPSTREAM], cwd=checkout, env=env, capture_output=True, text=True, timeout=900)
    finally:
        server.stop()
    output = done.stdout + done.stderr
    assert "hindsight installed into TradingAgents v0.2.4+ (decision log)" in output, output[-3000:]
    summary = output.strip().splitlines()[-1]
    assert done.returncode == 0, output[-5000:]
    assert re.search(r"\b\d+ passed\b", summary) and not re.search(r"failed|error|skipped", summary), summary
    print(summary)
