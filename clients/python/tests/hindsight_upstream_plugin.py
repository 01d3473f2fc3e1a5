"""A pytest plugin (``-p hindsight_upstream_plugin``) that installs Hindsight's memory classes into
TradingAgents before any test module imports them, so a framework's own tests run against ours."""

import os


def pytest_configure(config):
    import hindsight.integrations.tradingagents as hindsight_ta

    installation = hindsight_ta.install(config={"server_url": os.environ["HINDSIGHT_URL"], "strict": True})
    print("hindsight installed into TradingAgents %s: %s" % (installation.generation, installation.replaced))
