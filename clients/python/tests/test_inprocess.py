"""The engine in this process: no server, the same API, several processes on one directory."""

import json
import math
import multiprocessing
import os
import shutil
import subprocess
import sys
import time

import pytest

import hindsight_memory as hindsight
from hindsight_memory import FinancialSituationMemory, HindsightError, TradingMemoryLog
from hindsight_memory.native import library_candidates, load_library

from conftest import REPO, Server

HERE = os.path.dirname(os.path.abspath(__file__))

REPORTS = {
    "600519.SH": ["## 市场报告\n贵州茅台放量突破年线，MACD 金叉，RSI 62。", "## 情绪报告\n散户情绪转暖，北向资金连续三日净流入。",
                  "## 新闻报告\n公司公告提价 20%，渠道库存下降。", "## 基本面报告\n市盈率 24 倍，低于五年中位数。"],
    "BRK.B": ["## Market report\nBRK.B is flat, 50-day SMA above the 200-day.", "## Sentiment report\nMuted; no retail interest.",
              "## News report\nBuyback of $2B announced after the annual letter.", "## Fundamentals report\nBook value up 9%; P/B at 1.4."],
}


def situation(ticker):
    return "\n\n".join(REPORTS[ticker])


def test_memory_with_a_path_needs_no_server_and_survives_the_process(tmp_path):
    path = str(tmp_path / "memory")
    memory = FinancialSituationMemory("bull_memory", {"path": path, "embedder": "hashing"})
    memory.add_situations([(situation("600519.SH"), "提价周期里坚定持有。")], ticker="600519.SH", date="2025-03-03")
    memory.add_situations([(situation("BRK.B"), "Buybacks mark a floor; add below 1.3x book.")], ticker="BRK.B", date="2025-03-05")
    found = memory.get_memories(situation("600519.SH"), n_matches=1, ticker="600519.SH")
    assert found[0]["recommendation"] == "提价周期里坚定持有。"
    assert memory.get_memories(situation("BRK.B"), n_matches=2, as_of="2025-03-04")[0]["recommendation"] == "提价周期里坚定持有。"
    assert len(memory.get_memories(situation("BRK.B"), n_matches=2, as_of="2025-03-04")) == 1  # nothing from the future
    hindsight.connect(path).close()

    # Another process (a fresh interpreter) reads what this one wrote, from the directory alone.
    script = ("import sys, json; from hindsight_memory import FinancialSituationMemory as M; "
              "m = M('bull_memory', {'path': sys.argv[1], 'embedder': 'hashing'}); "
              "print(json.dumps([r['recommendation'] for r in m.get_memories(sys.argv[2], n_matches=2)]))")
    done = subprocess.run([sys.executable, "-c", script, path, situation("BRK.B")], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYTHONPATH=os.path.dirname(HERE)))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)[0] == "Buybacks mark a floor; add below 1.3x book."


def test_the_cli_reads_what_python_wrote_in_process(tmp_path):
    from conftest import hindsight_binary

    path = str(tmp_path / "db")
    client = hindsight.connect(path, embedder="hashing")
    client.get_or_create_collection("risk", 384, embedding_model="hashing-384")
    client.add("risk", [{"id": "r1", "situation": situation("BRK.B"), "reflection": "Size down before the letter.",
                         "ticker": "BRK.B", "time": "2025-02-20"}])
    client.close()
    done = subprocess.run([hindsight_binary(), "stats", "--db", path, "--json"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert '"risk"' in done.stdout


def test_in_process_answers_equal_the_servers(tmp_path):
    """One wire format: the same requests give the same answers in-process and over HTTP."""
    server = Server()
    try:
        remote = hindsight.HindsightClient(server.url)
        local = hindsight.connect(str(tmp_path / "db"), embedder="hashing")
        answers = []
        for client in (remote, local):
            client.get_or_create_collection("judge", 384, embedding_model="hashing-384", decay={"half_life": "30d"})
            client.add("judge", [{"id": "%s-%d" % (t, i), "situation": situation(t) + "\n\nday %d" % i, "reflection": "lesson %d" % i,
                                  "ticker": t, "time": "2025-01-%02dT00:00:00Z" % (i + 1), "outcome": 0.01 * (i - 3)}
                                 for i in range(6) for t in REPORTS])
            query = client.query_answer("judge", texts=[situation("600519.SH")], k=4, as_of="2025-01-05", ticker="600519.SH",
                                        mode="ticker", analogues=5, retrieval="hybrid")
            recent = client.recent("judge", ticker="BRK.B", limit=3)
            error = pytest.raises(HindsightError, client.memory, "judge", caller_id="missing").value
            answers.append((query, [m["id"] for m in recent], client.count("judge"), (error.status, error.code, str(error))))
        local.close()
        assert answers[0] == answers[1]
        assert answers[0][0]["results"][0] and answers[0][3][:2] == (404, "unknown_memory")
    finally:
        server.stop()


def test_bad_input_is_a_typed_error_and_changes_nothing(tmp_path):
    client = hindsight.connect(str(tmp_path / "db"), embedder="hashing")
    client.get_or_create_collection("c", 384, embedding_model="hashing-384")
    transport = client.transport
    for method, target, body in [("GET", "no-slash", None), ("BREW", "/v1/collections", None), ("GET", "/v1/nope", None),
                                 ("POST", "/v1/collections/c/memories", b"\xff\xfe not json"), ("POST", "/v1/collections/c/query", b"{}"),
                                 ("POST", "/v1/collections/c/memories", b'{"memories": [{"situation": "x", "reflection": "y", '
                                                                        b'"time": 1704153600000}]}'),
                                 ("POST", "/v1/collections/c/memories/delete", b"{}"), ("GET", "/v1/collections/%zz", None)]:
        status, payload = transport.database().request(method, target, body)
        error = json.loads(payload)["error"]
        assert 400 <= status < 500 and error["code"] and error["message"], (method, target, status, payload)
    assert client.count("c") == {"count": 0, "pending": 0}
    with pytest.raises(HindsightError) as raised:
        hindsight.connect(str(tmp_path / "db"), embedder="none").collections()
    assert raised.value.code == "already_open"
    with pytest.raises(HindsightError) as raised:
        hindsight.connect(str(tmp_path / "other"), embedder="sparkle").collections()
    assert raised.value.status == 400 and "embedder" in str(raised.value)
    with pytest.raises(HindsightError) as raised:
        hindsight.connect(str(tmp_path / "absent"), read_only=True).collections()
    assert raised.value.code == "no_database"
    client.close()


def test_the_decision_log_needs_only_its_file(tmp_path):
    """TradingAgents' construction: a config dict with memory_log_path, no server."""
    log_path = tmp_path / "memory" / "trading_memory.md"
    log = TradingMemoryLog({"memory_log_path": str(log_path), "embedder": "hashing"})
    log.store_decision("600519.SH", "2025-03-03", "评级：买入\nRating: Buy\n提价周期。")
    log.update_with_outcome("600519.SH", "2025-03-03", 0.042, 0.011, 5, "提价兑现，持有正确。")
    assert (tmp_path / "memory" / "trading_memory.hindsight" / "data.mdb").exists()
    assert "提价兑现，持有正确。" in log.get_past_context("600519.SH")
    assert "提价兑现" in log_path.read_text(encoding="utf-8")


def _writer(path, worker, count, queue, start):
    try:
        while not os.path.exists(start):  # all workers open the fresh directory at the same moment
            pass
        memory = FinancialSituationMemory("shared", {"path": path, "embedder": "hashing"})
        ids = []
        for i in range(count):
            ids += memory.add_situations([("worker %d situation %d: %s" % (worker, i, situation("BRK.B")), "lesson %d.%d" % (worker, i))],
                                         ticker="BRK.B", date="2025-01-%02d" % (i % 28 + 1))
            assert memory.get_memories("worker %d situation %d" % (worker, i), n_matches=1)
        queue.put(("ok", worker, len(ids)))
    except Exception as error:  # reported to the parent, which fails the test
        queue.put(("error", worker, repr(error)))


def test_several_processes_write_and_read_one_directory(tmp_path):
    path = str(tmp_path / "shared-db")  # not created yet: the workers race to create it
    start = str(tmp_path / "start")
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers = [context.Process(target=_writer, args=(path, worker, 25, queue, start)) for worker in range(4)]
    for process in workers:
        process.start()
    time.sleep(1.5)
    open(start, "w").close()
    results = [queue.get(timeout=180) for _ in workers]
    for process in workers:
        process.join(timeout=60)
        assert process.exitcode == 0
    assert sorted(results) == [("ok", w, 25) for w in range(4)], results
    client = hindsight.connect(path, embedder="hashing")
    assert client.count("shared")["count"] == 100
    reflections = {m["reflection"] for m in client.memories_in_order("shared")}
    assert reflections == {"lesson %d.%d" % (w, i) for w in range(4) for i in range(25)}
    client.close()


def _child_after_fork(path, queue):
    try:
        hindsight.connect(path, embedder="hashing").collections()
        queue.put("no error")
    except HindsightError as error:
        queue.put(error.code)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() only")
def test_a_child_forked_from_a_running_engine_gets_a_clear_error(tmp_path):
    path = str(tmp_path / "db")
    client = hindsight.connect(path, embedder="hashing")
    client.collections()
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_child_after_fork, args=(path, queue))
    child.start()
    assert queue.get(timeout=60) == "forked"
    child.join(timeout=30)
    assert child.exitcode == 0
    client.close()


def test_the_c_header_matches_the_library(tmp_path):
    compiler = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if compiler is None:
        pytest.fail("no C compiler: install gcc")
    library = next(path for path in library_candidates() if os.path.exists(path))
    load_library()
    program = str(tmp_path / "smoke")
    installed = os.path.join(os.path.dirname(library), "include")  # a wheel carries the header beside the library
    include = installed if os.path.exists(installed) else os.path.join(REPO, "Sources", "HindsightC", "include")
    build = subprocess.run([compiler, "-std=c99", "-Wall", "-Werror", "-I", include, os.path.join(HERE, "c", "smoke.c"),
                            "-o", program, library, "-Wl,-rpath," + os.path.dirname(library)], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    done = subprocess.run([program, str(tmp_path / "c-db")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "c api ok", done.stdout + done.stderr


def test_threads_share_one_handle(tmp_path):
    """Calls are thread-safe: eight threads add and recall at once through one database."""
    import threading

    path = str(tmp_path / "db")
    client = hindsight.connect(path, embedder="hashing")
    client.get_or_create_collection("threads", 384, embedding_model="hashing-384")
    errors = []

    def work(thread):
        try:
            for i in range(20):
                client.add("threads", [{"id": "t%d-%d" % (thread, i), "situation": "thread %d day %d %s" % (thread, i, situation("BRK.B")),
                                        "reflection": "r", "ticker": "BRK.B", "time": 1.7e9 + i}])
                assert client.query("threads", texts=["thread %d day %d" % (thread, i)], k=1)[0]
        except Exception as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and client.count("threads")["count"] == 160
    client.close()


def test_the_local_model_runs_in_process(tmp_path):
    from conftest import MODEL_DIR

    if not os.path.exists(os.path.join(MODEL_DIR, "model.safetensors")):
        pytest.skip("the reference model is absent: fetch it with hindsight_memory.fetch_model() or `hindsight model fetch`")
    assert hindsight.fetch_model(MODEL_DIR)["dimension"] == 384  # already there: loads it, fetches nothing
    memory = FinancialSituationMemory("trader", {"path": str(tmp_path / "db"), "model_dir": MODEL_DIR})
    memory.add_situations([("The Fed raised rates by 50 basis points; bank stocks fell.", "Trim financials before FOMC."),
                           ("A new iPhone launch drove record preorders.", "Ride product-cycle momentum.")], date="2025-01-02")
    best = memory.get_memories("The central bank hiked interest rates again", n_matches=1)[0]
    assert best["recommendation"] == "Trim financials before FOMC." and best["similarity"] > 0.3
    from conftest import DEFAULT_PRECISION_SUFFIX
    info = memory.client.embedder()
    assert info == {"model": "all-MiniLM-L6-v2" + DEFAULT_PRECISION_SUFFIX, "dimension": 384}
    memory.client.close()


def test_a_chinese_model_in_process(tmp_path):
    """``fetch_model(model="m3e-small")`` and ``model_dir``: a collection embedded by the Chinese model,
    recalled by a Chinese paraphrase; an unknown model is refused before anything is written."""
    from conftest import REPO

    with pytest.raises(hindsight.HindsightError) as refused:
        hindsight.fetch_model(str(tmp_path / "nowhere"), model="bge-huge-xx")
    assert refused.value.status == 400 and refused.value.code == "unknown_model"
    assert "all-MiniLM-L6-v2, m3e-small" in str(refused.value) and not (tmp_path / "nowhere").exists()
    zh_dir = os.environ.get("HINDSIGHT_ZH_MODEL_DIR") or os.path.join(REPO, "models", "m3e-small")
    if not os.path.exists(os.path.join(zh_dir, "model.safetensors")):
        pytest.skip("m3e-small is absent: fetch it with hindsight_memory.fetch_model(model='m3e-small') or tools/fetch-model.sh")
    info = hindsight.fetch_model(zh_dir, model="m3e-small")  # already there: loads it, fetches nothing
    assert info["dimension"] == 512 and info["name"] == "m3e-small"
    memory = FinancialSituationMemory("analyst", {"path": str(tmp_path / "db"), "model_dir": zh_dir})
    assert memory.client.embedder()["dimension"] == 512
    memory.add_situations([("贵州茅台股价大幅上涨，市场情绪乐观，白酒板块领涨。", "趋势确立后可以加仓。"),
                           ("央行宣布降息以刺激经济，银行股承压。", "降息周期中减持银行股。"),
                           ("公司季度营收低于预期，股价下跌，机构下调评级。", "业绩不及预期时先止损。")], date="2025-01-02")
    assert memory.client.collection("analyst")["embedding_model"].startswith("m3e-small")
    best = memory.get_memories("茅台股票涨了很多，投资者情绪积极", n_matches=1)[0]
    assert best["recommendation"] == "趋势确立后可以加仓。"
    memory.client.close()


def test_the_local_model_at_int8_is_recorded_as_such(tmp_path):
    """``embedding_precision: "int8"``: a faster embedder whose collections record a ``+int8`` model;
    its vectors stay close to f32's, and a bad precision is refused when the database opens."""
    from conftest import MODEL_DIR

    if not os.path.exists(os.path.join(MODEL_DIR, "model.safetensors")):
        pytest.skip("the reference model is absent: fetch it with hindsight_memory.fetch_model() or `hindsight model fetch`")
    with pytest.raises(hindsight.HindsightError) as refused:
        hindsight.connect(str(tmp_path / "bad"), embedder="local", model_dir=MODEL_DIR, precision="int4").embedder()
    assert "precision is f32, int8 or bf16" in str(refused.value)
    exact = hindsight.connect(str(tmp_path / "f32"), embedder="local", model_dir=MODEL_DIR)
    fast = FinancialSituationMemory("trader", {"path": str(tmp_path / "int8"), "model_dir": MODEL_DIR, "embedding_precision": "int8"})
    assert fast.client.embedder() == {"model": "all-MiniLM-L6-v2+int8", "dimension": 384}
    text = "The Fed raised rates by 50 basis points; bank stocks fell."
    a, b = exact.embed([text])[0], fast.client.embed([text])[0]
    assert sum(x * y for x, y in zip(a, b)) > 0.995
    fast.add_situations([(text, "Trim financials before FOMC.")], date="2025-01-02")
    assert fast.client.collection("trader")["embedding_model"] == "all-MiniLM-L6-v2+int8"
    assert fast.get_memories("The central bank hiked interest rates again", n_matches=1)[0]["recommendation"] == "Trim financials before FOMC."
    exact.close()
    fast.client.close()


def test_decay_counted_in_trading_sessions(tmp_path):
    """A 5-session half-life on the NYSE: Independence Day and weekends do not age a lesson; a
    calendar file adds an exchange."""
    calendar_file = tmp_path / "xlon.json"
    calendar_file.write_text(json.dumps({"name": "XLON", "closed": ["2024-07-04"], "covered_through": "2024-12-31"}))
    client = hindsight.connect(str(tmp_path / "db"), embedder="hashing", calendar_files=[str(calendar_file)])
    client.get_or_create_collection("trader", 384, embedding_model="hashing-384", decay={"half_life": "5d", "calendar": "XNYS"})
    text = situation("BRK.B")
    client.add("trader", [{"id": "wed", "situation": text, "reflection": "r", "ticker": "BRK.B", "time": "2024-07-03T20:00:00Z"}])

    def score(as_of, **decay):
        options = {"decay": decay} if decay else {}
        return client.query("trader", texts=[text], k=1, as_of=as_of, retrieval="dense", **options)[0][0]["score"]

    assert score("2024-07-05T21:00:00Z") == pytest.approx(0.5 ** (1 / 5), rel=1e-5)   # the 4th was a holiday
    assert score("2024-07-08T21:00:00Z") == pytest.approx(0.5 ** (2 / 5), rel=1e-5)   # the weekend does not count
    assert score("2024-07-08T21:00:00Z", half_life="5d") == pytest.approx(0.5 ** ((5 * 86400 + 3600) / (5 * 86400)), rel=1e-5)
    assert score("2024-07-08T21:00:00Z", half_life="5d", calendar="XLON") == pytest.approx(0.5 ** (2 / 5), rel=1e-5)
    with pytest.raises(HindsightError) as raised:
        score("2024-07-08T21:00:00Z", half_life="5d", calendar="XMARS")
    assert raised.value.status == 400 and "XNYS" in str(raised.value)
    client.close()


def test_memory_kinds_decay_their_own_way(tmp_path):
    """FinMem's horizons: a news item fades within weeks, an annual report over a year."""
    memory = FinancialSituationMemory("research", {"path": str(tmp_path / "db"), "embedder": "hashing", "kind_decay": "finmem", "retrieval": "dense",
                                                   "decay": {"half_life": "30d"}})
    text = situation("600519.SH")
    memory.add_situations([(text, "news lesson")], ticker="600519.SH", date="2025-01-01", kind="news")
    memory.add_situations([(text, "annual lesson")], ticker="600519.SH", date="2025-01-01", kind="annual")
    memory.add_situations([(text, "plain lesson")], ticker="600519.SH", date="2025-01-01")
    found = {m["recommendation"]: m["score"] for m in memory.get_memories(text, n_matches=3, as_of="2025-01-29")}  # 28 days on
    import math
    assert found["news lesson"] == pytest.approx(math.exp(-28 / 14), rel=1e-4)
    assert found["annual lesson"] == pytest.approx(math.exp(-28 / 365), rel=1e-4)
    assert found["plain lesson"] == pytest.approx(0.5 ** (28 / 30), rel=1e-4)   # the collection's own decay
    collection = memory.client.collection(memory.collection)
    assert set(collection["kind_decay"]) == {"news", "quarterly", "annual", "reflection"}
    assert memory.client.memories_in_order(memory.collection)[0]["kind"] == "news"
    memory.client.close()


def test_a_decision_credits_what_it_was_shown(tmp_path):
    """Provenance and credit in a back-test: the bull researcher's recall for a decision is recorded;
    the decision log's resolution credits those memories, visible to as_of reads only from the
    outcome's known time; a collection with credit scores them up; a resolved decision's recall
    is refused by the client and recalled unrecorded by the drop-in."""
    path = str(tmp_path / "db")
    bull = FinancialSituationMemory("bull_memory", {"path": path, "embedder": "hashing", "retrieval": "dense",
                                                    "credit": {"beta": 0.3, "scale": 0.05}})
    bull.add_situations([(situation("BRK.B"), "Buybacks after the letter carried the stock."),
                         (situation("600519.SH"), "提价后继续持有。")], date="2024-01-05")
    log = TradingMemoryLog({"memory_log_path": str(tmp_path / "trading_memory.md"), "path": path, "embedder": "hashing"})
    decision = log.decision_id("BRK.B", "2024-05-10")
    assert decision == "decision:BRK.B:2024-05-10"
    shown = bull.get_memories(situation("BRK.B"), n_matches=2, as_of="2024-05-10", decision_id=decision)
    assert len(shown) == 2
    log.store_decision("BRK.B", "2024-05-10", "Rating: Sell\nThe buyback is priced in.")
    # Sold before a 4% fall: each memory shown earns +0.04, known on 2024-05-16.
    log.update_with_outcome("BRK.B", "2024-05-10", -0.04, -0.02, 5, "The fall came.", known_at="2024-05-16")
    record = bull.provenance(decision, as_of="2024-05-16T00:00:00Z")
    assert record["resolution"]["credit"] == pytest.approx(0.04) and record["resolution"]["action"] == "Sell"
    assert [entry["memory"]["reflection"] for entry in record["shown"]] == [m["recommendation"] for m in shown]
    assert all(entry["credit"] == pytest.approx(0.04) for entry in record["shown"])
    assert all(entry["credits"] == [] for entry in bull.provenance(decision, as_of="2024-05-15T00:00:00Z")["shown"])
    def scores(as_of, credit=None):
        results = bull.client.query("bull_memory", texts=[situation("BRK.B")], k=2, as_of=as_of, retrieval="dense", credit=credit)[0]
        return [r["score"] for r in results]
    factor = 1 + 0.3 * math.tanh(0.04 / 0.05)
    assert scores("2024-05-20") == pytest.approx([s * factor for s in scores("2024-05-20", credit=False)], rel=1e-9)
    assert scores("2024-05-15") == scores("2024-05-15", credit=False)
    with pytest.raises(HindsightError) as closed:
        bull.client.query("bull_memory", texts=[situation("BRK.B")], k=1, decision_id=decision)
    assert closed.value.code == "decision_resolved" and closed.value.status == 409
    assert len(bull.get_memories(situation("BRK.B"), n_matches=1, decision_id=decision)) == 1
    # A decision kept elsewhere is credited directly; HOLD credits nothing.
    bull.get_memories(situation("600519.SH"), n_matches=1, decision_id="external:1")
    assert bull.credit_decision("external:1", 0.05, action="Hold")["credit"] == 0
    with pytest.raises(HindsightError) as unknown:
        bull.provenance("never-recalled")
    assert unknown.value.code == "unknown_decision"
