"""A pytest plugin (``-p hindsight_upstream_plugin``) that installs Hindsight's memory classes into
TradingAgents before any test module imports them, so a framework's own tests run against ours."""

import os


def pytest_configure(config):
    import hindsight_memory.integrations.tradingagents as hindsight_ta

    # A server when HINDSIGHT_URL names one; else the engine in-process, each log's database beside its file.
    settings = {"server_url": os.environ["HINDSIGHT_URL"]} if os.environ.get("HINDSIGHT_URL") else {"embedder": "hashing"}
    installation = hindsight_ta.install(config=dict(settings, strict=True))
    print("hindsight installed into TradingAgents %s: %s" % (installation.generation, installation.replaced))
