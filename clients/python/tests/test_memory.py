import http.server
import json
import logging
import threading

import pytest

from hindsight_memory import format_analogues, FinancialSituationMemory, HindsightClient, HindsightError
from conftest import Server

SITUATIONS = [
    ("High inflation rate with rising interest rates and declining consumer spending",
     "Consider defensive sectors like consumer staples and utilities."),
    ("Tech sector showing high volatility with increasing institutional selling pressure",
     "Reduce exposure to high-growth tech stocks."),
    ("Strong dollar affecting emerging markets with increasing forex volatility",
     "Hedge currency exposure in international positions."),
    ("Market showing signs of sector rotation with rising yields",
     "Rebalance portfolio to maintain target allocations."),
]


def word_vector(text, dimension=32):
    """A deterministic callable embedder for tests."""
    vector = [0.0] * dimension
    for word in text.lower().split():
        vector[sum(word.encode()) % dimension] += 1.0
    vector[0] += 0.01
    return vector


def test_drop_in_round_trip_with_both_key_sets(server):
    memory = FinancialSituationMemory("bull_memory", {"server_url": server.url, "llm_provider": "ignored key"})
    assert memory.count() == 0
    assert memory.get_memories("anything", n_matches=2) == []
    memory.add_situations(SITUATIONS)
    assert memory.count() == 4
    matches = memory.get_memories("Tech volatility and institutional selling pressure", n_matches=2)
    assert len(matches) == 2
    best = matches[0]
    assert best["recommendation"] == "Reduce exposure to high-growth tech stocks."
    assert best["matched_situation"] == best["situation"] == SITUATIONS[1][0]
    assert best["similarity_score"] == best["similarity"]
    assert abs(best["distance"] - (1 - best["similarity"])) < 1e-9
    assert matches[0]["similarity"] >= matches[1]["similarity"]
    assert memory.clear() == 4
    assert memory.count() == 0


def test_callable_embedder_and_namespaces(server):
    run_a = FinancialSituationMemory("trader_memory", server_url=server.url, namespace="run-a", embedding=word_vector)
    run_b = FinancialSituationMemory("trader_memory", server_url=server.url, namespace="run-b", embedding=word_vector)
    run_a.add_situations(SITUATIONS[:2])
    run_b.add_situations(SITUATIONS[2:])
    assert run_a.count() == 2 and run_b.count() == 2
    names = {c["name"] for c in HindsightClient(server.url).collections()}
    assert {"run-a.trader_memory", "run-b.trader_memory"} <= names
    assert run_a.get_memories(SITUATIONS[0][0], n_matches=5)[0]["recommendation"] == SITUATIONS[0][1]
    assert all(m["recommendation"] in dict(SITUATIONS[:2]).values() for m in run_a.get_memories("dollar", n_matches=5))


def test_get_memories_never_raises(server, caplog):
    memory = FinancialSituationMemory("c", server_url=server.url)
    memory.add_situations(SITUATIONS[:2])
    assert len(memory.get_memories("inflation", n_matches=10)) == 2  # fewer than asked: what there is
    assert memory.get_memories("inflation", n_matches=0) == []

    def broken(_text):
        raise RuntimeError("embedding API quota exceeded")

    with caplog.at_level(logging.WARNING, logger="hindsight"):
        assert FinancialSituationMemory("c", server_url=server.url, embedding=broken).get_memories("x") == []
        assert FinancialSituationMemory("c", server_url="http://127.0.0.1:9").get_memories("x") == []
    assert any("quota" in r.getMessage() for r in caplog.records)
    assert FinancialSituationMemory("never-created", server_url=server.url).get_memories("x") == []
    wrong_dimension = FinancialSituationMemory("c", server_url=server.url, embedding=lambda t: [1.0, 2.0])
    assert wrong_dimension.get_memories("x") == []
    with pytest.raises(HindsightError) as error:
        wrong_dimension.add_situations([("x", "y")])
    assert error.value.status == 422


def test_ticker_as_of_and_decay(server):
    memory = FinancialSituationMemory("judge", server_url=server.url, decay={"half_life": "30d"})
    memory.add_situations([("earnings beat guidance raised", "NVDA lesson")], ticker="NVDA", date="2024-01-02")
    memory.add_situations([("earnings beat guidance raised strong", "AAPL lesson")], ticker="AAPL", date="2024-03-01")
    for_nvda = memory.get_memories("earnings beat guidance raised strong", n_matches=2, ticker="NVDA", as_of="2024-03-05")
    assert [m["recommendation"] for m in for_nvda] == ["NVDA lesson", "AAPL lesson"]
    assert for_nvda[0]["layer"] == "ticker"
    early = FinancialSituationMemory("judge", server_url=server.url, as_of="2024-02-01")
    assert [m["recommendation"] for m in early.get_memories("earnings", n_matches=5)] == ["NVDA lesson"]
    # 30-day half-life as of 2024-03-02: the exact but 60-day-old NVDA match keeps a quarter of its score.
    dense = FinancialSituationMemory("judge", server_url=server.url, decay={"half_life": "30d"}, retrieval="dense")
    decayed = dense.get_memories("earnings beat guidance raised", n_matches=2, as_of="2024-03-02")
    assert [m["recommendation"] for m in decayed] == ["AAPL lesson", "NVDA lesson"]
    assert abs(decayed[1]["score"] - decayed[1]["similarity"] * 0.25) < 1e-6
    assert decayed[1]["lexical_score"] is None
    # By default (hybrid) the same decay applies to both rankings before they are fused.
    hybrid = memory.get_memories("earnings beat guidance raised", n_matches=2, as_of="2024-03-02")
    assert [m["recommendation"] for m in hybrid] == ["AAPL lesson", "NVDA lesson"]
    assert hybrid[0]["lexical_score"] > 0 and "earnings" in hybrid[0]["matched_terms"]
    assert abs(hybrid[0]["score"] - (0.25 / 11 + 1 / 11)) < 1e-12, "first in both rankings: dense 0.25/(10+1), lexical 1/(10+1)"


def test_token_is_required(token_server):
    good = FinancialSituationMemory("c", server_url=token_server.url, token="py-s3cret")
    good.add_situations(SITUATIONS[:1])
    bad = FinancialSituationMemory("c", server_url=token_server.url, token="wrong")
    assert bad.get_memories("inflation") == []
    with pytest.raises(HindsightError) as error:
        bad.add_situations(SITUATIONS[1:2])
    assert error.value.status == 401
    assert good.count() == 1


def test_openai_compatible_endpoint(server):
    calls = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            calls.append((self.path, self.headers.get("Authorization"), body["model"]))
            data = [{"index": i, "embedding": word_vector(text, 16)} for i, text in enumerate(body["input"])]
            payload = json.dumps({"data": data}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    stub = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=stub.serve_forever, daemon=True).start()
    try:
        embedding = {"provider": "openai", "base_url": "http://127.0.0.1:%d/v1" % stub.server_port, "model": "stub-16", "api_key": "k"}
        memory = FinancialSituationMemory("risk_manager_memory", server_url=server.url, embedding=embedding)
        memory.add_situations(SITUATIONS)
        assert memory.get_memories(SITUATIONS[2][0], n_matches=1)[0]["recommendation"] == SITUATIONS[2][1]
        assert calls and all(path == "/v1/embeddings" and auth == "Bearer k" and model == "stub-16" for path, auth, model in calls)
        info = HindsightClient(server.url).collection("risk_manager_memory")
        assert info["embedding_model"] == "stub-16" and info["dimension"] == 16
    finally:
        stub.shutdown()


def test_server_stops_gracefully():
    instance = Server()
    FinancialSituationMemory("c", server_url=instance.url).add_situations(SITUATIONS[:1])
    code, out = instance.stop()
    assert code == 0 and "closed" in out


def test_server_embeds_with_its_local_model(model_server):
    """No embedding API: the server runs all-MiniLM-L6-v2 itself, and paraphrases find each other."""
    memory = FinancialSituationMemory("trader_memory", {"server_url": model_server.url})
    memory.add_situations([
        ("Apple shares rose 3% after the company reported record iPhone revenue.", "Buy strength after earnings beats."),
        ("Crude oil prices fell sharply amid concerns about weak global demand.", "Trim energy when demand softens."),
        ("The Federal Reserve raised interest rates by 25 basis points.", "Banks benefit from higher rates."),
    ])
    best, second, _ = memory.get_memories("AAPL stock climbed three percent following record iPhone sales.", n_matches=3)
    assert best["recommendation"] == "Buy strength after earnings beats."
    assert best["similarity"] > 0.6 and best["similarity"] > second["similarity"] + 0.3
    from conftest import DEFAULT_PRECISION_SUFFIX
    info = HindsightClient(model_server.url).embedder()
    assert info == {"model": "all-MiniLM-L6-v2" + DEFAULT_PRECISION_SUFFIX, "dimension": 384}


def test_ids_deletes_and_hostile_values_are_explicit(server):
    client = HindsightClient(server.url)
    client.get_or_create_collection("c", dimension=3)
    records = [{"id": "1", "time": "2024-01-02", "situation": "a", "vector": [1, 0, 0]},
               {"id": "x", "time": "2024-01-03", "situation": "b", "vector": [0, 1, 0]},
               {"id": "y", "ticker": "600519.SH", "time": "2024-01-04", "situation": "c", "vector": [0, 0, 1]}]
    assert client.add("c", records) == [0, 1, 2]
    # Caller id "1" and engine id 1 are different memories, named by different arguments.
    assert client.memory("c", caller_id="1")["engine_id"] == 0
    assert client.memory("c", engine_id=1)["caller_id"] == "x"
    with pytest.raises(ValueError):
        client.memory("c", caller_id="1", engine_id=1)
    # A misspelt filter key, an empty filter and a millisecond time are refused and change nothing.
    for where in ({"ticker": "600519.SH"}, {}):
        with pytest.raises(HindsightError) as error:
            client.delete("c", where=where)
        assert error.value.status == 400
    with pytest.raises(HindsightError) as error:
        client.query("c", vectors=[[1, 0, 0]], as_of=1704153600000)
    assert error.value.status == 400 and "milliseconds" in str(error.value)
    assert client.count("c")["count"] == 3
    assert client.delete("c", where={"tickers": ["600519.SH"]}) == 1
    assert client.delete("c", engine_ids=[0]) == 1
    assert client.delete("c", all=True) == 1
    assert client.count("c")["count"] == 0


def test_failed_recalls_say_why_once_and_strict_raises(server, caplog):
    import hindsight_memory.memory as memory_module
    memory_module._warned_causes.clear()
    down = FinancialSituationMemory("c", server_url="http://127.0.0.1:9")
    with caplog.at_level(logging.DEBUG, logger="hindsight"):
        assert down.get_memories("x") == [] and down.get_memories("y") == []
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, "the first failure of a cause warns, repeats are DEBUG"
    assert "cannot reach the Hindsight server at http://127.0.0.1:9" in warnings[0].getMessage()
    assert "hindsight serve" in warnings[0].getMessage() and "HINDSIGHT_URL" in warnings[0].getMessage()
    with pytest.raises(HindsightError):
        FinancialSituationMemory("c", server_url="http://127.0.0.1:9", strict=True).get_memories("x")
    health = down.health()
    assert health["server"]["ok"] is False and "cannot reach" in health["server"]["error"]

    ok = FinancialSituationMemory("c", server_url=server.url)
    assert ok.health()["collection"] == {"ok": True, "name": "c", "exists": False, "note": "made by the first add"}
    ok.add_situations(SITUATIONS[:1])
    report = ok.health()
    assert report["server"]["ok"] and report["collection"]["count"] == 1 and report["embedder"]["where"] == "server"


def test_a_server_without_embedder_and_a_wrong_token_are_named(caplog):
    import hindsight_memory.memory as memory_module
    memory_module._warned_causes.clear()
    plain = Server(embedder="none")
    guarded = Server(token="right")
    try:
        HindsightClient(plain.url).get_or_create_collection("c", dimension=8)
        with caplog.at_level(logging.WARNING, logger="hindsight"):
            assert FinancialSituationMemory("c", server_url=plain.url).get_memories("x") == []
            assert FinancialSituationMemory("c", server_url=guarded.url, token="wrong").get_memories("x") == []
        messages = [r.getMessage() for r in caplog.records]
        assert any("has no embedder" in m and "--embedder local" in m for m in messages), messages
        assert any("refused the bearer token" in m and "HINDSIGHT_TOKEN" in m for m in messages), messages
        assert FinancialSituationMemory("c", server_url=plain.url).health()["embedder"]["ok"] is False
    finally:
        plain.stop()
        guarded.stop()


def test_analogues_count_what_happened_after_similar_situations(server):
    memory = FinancialSituationMemory("analogues", server_url=server.url)
    memory.add_situations([("export restrictions tighten on chips", "seed")], ticker="NVDA", date="2024-01-01")
    client, name = memory.client, memory.collection
    records = [{"id": "a%d" % i, "ticker": "NVDA", "time": "2024-01-%02d" % (i + 2), "known_at": "2024-02-%02d" % (i + 1),
                "situation": "export restrictions tighten on chips", "reflection": "r", "action": ["BUY", "SELL"][i % 2],
                "outcome": [0.04, -0.02, 0.01, -0.05, 0.03][i], "metadata": {"alpha_return": 0.01 * i}} for i in range(5)]
    client.add(name, records)
    stats = memory.get_analogues("export restrictions tighten on chips", n=10, ticker="NVDA", as_of="2024-03-01")
    assert stats["count"] == 5  # the seed memory has no outcome
    assert stats["all"]["outcome"]["hit_rate"] == 0.6 and abs(stats["all"]["outcome"]["mean"] - 0.002) < 1e-12
    assert stats["all"]["outcome"]["median"] == 0.01
    assert [g["action"] for g in stats["by_action"]] == ["BUY", "SELL"]
    assert stats["by_action"][0]["outcome"]["count"] == 3 and stats["by_action"][0]["outcome"]["hit_rate"] == 1.0
    assert abs(stats["all"]["alpha"]["mean"] - 0.02) < 1e-12
    # As of 2024-02-03 only the first three outcomes were known.
    early = memory.get_analogues("export restrictions tighten on chips", n=10, ticker="NVDA", as_of="2024-02-03")
    assert early["count"] == 3
    # As a prompt: the base rate, then per action, in percent.
    text = format_analogues(stats, as_of="2024-03-01").splitlines()
    assert text[0] == "Base rate over the 5 most similar past situations known by 2024-03-01 with known outcomes:"
    assert text[1:] == [  # the lines docs/agents.md shows
        "- all: 5 cases, up 60% of the time, mean +0.2%, median +1.0% (10th to 90th percentile -3.8% to +3.6%); alpha mean +2.0%, beat the benchmark 80% of the time",
        "- after BUY: 3 cases, up 100% of the time, mean +2.7%, median +3.0% (10th to 90th percentile +1.4% to +3.8%); alpha mean +2.0%, beat the benchmark 67% of the time",
        "- after SELL: 2 cases, up 0% of the time, mean -3.5%, median -3.5% (10th to 90th percentile -4.7% to -2.3%); alpha mean +2.0%, beat the benchmark 100% of the time"]
    assert format_analogues(memory.get_analogues("x", n=10, ticker="NVDA", as_of="2023-01-01"), as_of="2023-01-01") == \
        "Base rate: no resolved situation like this one known by 2023-01-01 yet."
    with pytest.raises(HindsightError) as error:
        memory.get_analogues("x", n=-1)
    assert error.value.status == 400
