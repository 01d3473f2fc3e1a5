"""TradingMemoryLog: TradingAgents' decision log (v0.2.4+) with its entries in the Hindsight engine."""

import logging
import multiprocessing
import os

import pytest

from hindsight_memory import HindsightError, TradingMemoryLog
from hindsight_memory import markdown_log as fmt
from hindsight_memory.log import collection_for_path, known_at
from conftest import Server

SEP = "\n\n<!-- ENTRY_END -->\n\n"
BUY = "Rating: Buy\nEnter at $189-192, 6% portfolio cap."
SELL = "Rating: Sell\nExit position immediately."


def make_log(server, tmp_path, name="trading_memory.md", **settings):
    config = {"memory_log_path": str(tmp_path / name), "server_url": server.url}
    config.update(settings)
    return TradingMemoryLog(config)


def mirror(tmp_path, name="trading_memory.md"):
    return (tmp_path / name).read_text(encoding="utf-8")


def test_the_entry_text_is_trading_agents_format_character_for_character(server, tmp_path):
    log = make_log(server, tmp_path)
    assert not (tmp_path / "trading_memory.md").exists()
    log.store_decision("NVDA", "2026-01-10", BUY)
    log.store_decision("600519.SH", "2026-01-11", "**Rating**: Underweight\n估值偏高，减仓。\n")
    assert mirror(tmp_path) == ("[2026-01-10 | NVDA | Buy | pending]\n\nDECISION:\n" + BUY + SEP
                                + "[2026-01-11 | 600519.SH | Underweight | pending]\n\nDECISION:\n**Rating**: Underweight\n估值偏高，减仓。\n" + SEP)
    log.update_with_outcome("600519.SH", "2026-01-11", -0.0349, 0.012, 5, "Valuation call was right.")
    # A resolved entry is rewritten from its stripped lines, with the returns in the tag.
    assert mirror(tmp_path) == ("[2026-01-10 | NVDA | Buy | pending]\n\nDECISION:\n" + BUY + SEP
                                + "[2026-01-11 | 600519.SH | Underweight | -3.5% | +1.2% | 5d]\n\nDECISION:\n**Rating**: Underweight\n"
                                "估值偏高，减仓。\n\nREFLECTION:\nValuation call was right." + SEP)
    assert log.load_entries() == fmt.parse_entries(mirror(tmp_path))
    assert log.load_entries()[1] == {"date": "2026-01-11", "ticker": "600519.SH", "rating": "Underweight", "pending": False,
                                     "raw": "-3.5%", "alpha": "+1.2%", "holding": "5d",
                                     "decision": "**Rating**: Underweight\n估值偏高，减仓。", "reflection": "Valuation call was right."}
    assert not (tmp_path / "trading_memory.tmp").exists()


def test_store_is_idempotent_and_updates_skip_what_they_cannot_resolve(server, tmp_path):
    log = make_log(server, tmp_path)
    log.store_decision("BRK.B", "2026-01-10", BUY)
    log.store_decision("BRK.B", "2026-01-10", SELL)  # the day is pending already: left as it is
    assert [e["decision"] for e in log.load_entries()] == [BUY]
    log.update_with_outcome("BRK.B", "2026-01-09", 0.01, 0.0, 5, "unknown day")  # no such decision: nothing happens
    log.update_with_outcome("BRK.B", "2026-01-10", 0.01, 0.0, 5, "first")
    log.update_with_outcome("BRK.B", "2026-01-10", 0.02, 0.0, 5, "second")  # resolved already: nothing happens
    assert [(e["pending"], e["raw"], e["reflection"]) for e in log.load_entries()] == [(False, "+1.0%", "first")]
    # A day decided again after its decision was resolved is a new entry, as in TradingAgents.
    log.store_decision("BRK.B", "2026-01-10", SELL)
    assert [(e["pending"], e["rating"]) for e in log.load_entries()] == [(False, "Buy"), (True, "Sell")]
    log.update_with_outcome("BRK.B", "2026-01-10", -0.02, -0.01, 3, "again")
    assert [e["reflection"] for e in log.load_entries()] == ["first", "again"]


def test_batch_update_resolves_the_first_pending_of_each_day_and_rotation_keeps_pending(server, tmp_path):
    log = make_log(server, tmp_path, memory_log_max_entries=2)
    for day in ("2026-01-05", "2026-01-06", "2026-01-07", "2026-01-08"):
        log.store_decision("NVDA", day, BUY)
    log.store_decision("AAPL", "2026-01-08", SELL)
    log.batch_update_with_outcomes([
        {"ticker": "NVDA", "trade_date": "2026-01-05", "raw_return": 0.05, "alpha_return": 0.02, "holding_days": 5, "reflection": "r5"},
        {"ticker": "NVDA", "trade_date": "2026-01-06", "raw_return": 0.01, "alpha_return": 0.0, "holding_days": 5, "reflection": "r6"},
        {"ticker": "NVDA", "trade_date": "2026-01-07", "raw_return": -0.01, "alpha_return": 0.0, "holding_days": 5, "reflection": "x"},
        {"ticker": "NVDA", "trade_date": "2026-01-07", "raw_return": -0.02, "alpha_return": 0.0, "holding_days": 5, "reflection": "r7"},
        {"ticker": "TSLA", "trade_date": "2026-01-07", "raw_return": 0.0, "alpha_return": 0.0, "holding_days": 5, "reflection": "none"},
    ])
    entries = log.load_entries()
    # Three resolved, the cap is two: the oldest resolved went; both pending stayed, in their places.
    assert [(e["date"], e["ticker"], e["pending"], e["reflection"]) for e in entries] == [
        ("2026-01-06", "NVDA", False, "r6"), ("2026-01-07", "NVDA", False, "r7"),
        ("2026-01-08", "NVDA", True, ""), ("2026-01-08", "AAPL", True, "")]
    assert entries[1]["raw"] == "-2.0%"
    assert fmt.parse_entries(mirror(tmp_path)) == entries


def test_ratings_are_read_as_trading_agents_reads_them():
    cases = {
        "Rating: Buy\nEnter.": "Buy",
        "Rating: Overweight\nExecutive Summary: Moderate position.": "Overweight",
        "Executive Summary: Complex situation.\nInvestment Thesis: No clear signal.": "Hold",
        "The sell thesis is weak. The hold case is marginal.\n\nRating: Buy\n": "Buy",
        "**Rating**: Buy\nEnter at $190.": "Buy",
        "Rating: **Sell**\nExit immediately.": "Sell",
        "The buy thesis is weakened by guidance.\nRating: **Sell**\nExit before earnings.": "Sell",
        "1. Rating: Buy\nEnter at $190.": "Buy",
        "We would buy on dips but sell into strength.": "Buy",  # both words: the first one counts
        "rating-based view: Underweight": "Underweight",  # the label's word is not a rating: the first rating word
        "FINAL TRANSACTION PROPOSAL: **UNDERWEIGHT**": "Underweight",
        "": "Hold",
    }
    for text, rating in cases.items():
        assert fmt.parse_rating(text) == rating, text
    assert fmt.parse_rating("nothing here", default="n/a") == "n/a"


def test_past_context_text_is_trading_agents_text(server, tmp_path):
    log = make_log(server, tmp_path)
    assert log.get_past_context("NVDA") == ""
    log.store_decision("NVDA", "2026-01-05", BUY)
    assert log.get_past_context("NVDA") == ""  # pending entries are not context
    log.update_with_outcome("NVDA", "2026-01-05", 0.05, 0.02, 5, "Momentum confirmed.")
    long_decision = "Rating: Sell\n" + "x" * 400
    log.store_decision("AAPL", "2026-01-06", long_decision)
    log.update_with_outcome("AAPL", "2026-01-06", -0.01, -0.02, 5, "")
    log.store_decision("MSFT", "2026-01-07", SELL)
    log.update_with_outcome("MSFT", "2026-01-07", 0.0, 0.001, 4, "Flat.")
    assert log.get_past_context("NVDA") == (
        "Past analyses of NVDA (most recent first):\n\n"
        "[2026-01-05 | NVDA | Buy | +5.0% | +2.0% | 5d]\n\nDECISION:\n" + BUY + "\n\nREFLECTION:\nMomentum confirmed.\n\n"
        "Recent cross-ticker lessons:\n\n"
        "[2026-01-07 | MSFT | Sell | +0.0%]\nFlat.\n\n"
        "[2026-01-06 | AAPL | Sell | -1.0%]\n" + long_decision[:300] + "...")
    assert log.get_past_context("NVDA", n_same=0, n_cross=1) == "Recent cross-ticker lessons:\n\n[2026-01-07 | MSFT | Sell | +0.0%]\nFlat."


def test_as_of_hides_what_was_not_known_then(server, tmp_path):
    log = make_log(server, tmp_path)
    log.store_decision("NVDA", "2026-01-05", BUY)  # a Monday
    log.update_with_outcome("NVDA", "2026-01-05", 0.05, 0.02, 5, "Momentum confirmed.")  # known after 5 sessions
    log.store_decision("NVDA", "2026-01-09", SELL)
    log.update_with_outcome("NVDA", "2026-01-09", -0.01, 0.0, 1, "Too early.", known_at="2026-01-20")
    assert known_at("2026-01-05", 5) == "2026-01-13"  # sessions Tue..Fri, Mon 12th; known the day after
    assert known_at("2026-01-09", 1) == "2026-01-13"  # Friday + one session is Monday
    assert log.get_past_context("NVDA", as_of="2026-01-12") == ""
    assert [e["date"] for e in log.get_pending_entries(as_of="2026-01-12")] == ["2026-01-05", "2026-01-09"]
    assert [e["date"] for e in log.get_pending_entries(as_of="2026-01-07")] == ["2026-01-05"]  # the 9th was not decided yet
    as_of_13 = log.get_past_context("NVDA", as_of="2026-01-13")
    assert "Momentum confirmed." in as_of_13 and "Too early." not in as_of_13
    assert log.get_pending_entries(as_of="2026-01-13")[0]["date"] == "2026-01-09"
    assert "Too early." in log.get_past_context("NVDA", as_of="2026-01-20")
    # With no as_of, the results are those of the file.
    assert log.get_past_context("NVDA") == fmt.past_context([e for e in fmt.parse_entries(mirror(tmp_path)) if not e["pending"]], "NVDA")
    # A log configured for a back-test reads as of its date by default.
    backtest = make_log(server, tmp_path, as_of="2026-01-12")
    assert backtest.get_past_context("NVDA") == ""


def test_an_existing_file_of_100_entries_is_imported_in_order(server, tmp_path):
    blocks = []
    for i in range(100):
        day = "2025-%02d-%02d" % (1 + i // 28, 1 + i % 28)
        ticker = ("NVDA", "600519.SH", "BRK.B", "AAPL")[i % 4]
        decision = "Rating: %s\n第 %d 号决定 — decision %d.\n\n---\n\nRisk: elevated." % (("Buy", "Sell", "Hold", "Overweight")[i % 4], i, i)
        if i % 10 == 9:
            blocks.append(fmt.render_pending(day, ticker, fmt.parse_rating(decision), decision))
        else:
            tag = "[%s | %s | %s | %+.1f%% | %+.1f%% | %dd]" % (day, ticker, fmt.parse_rating(decision), i / 10 - 5, i / 20 - 2, 1 + i % 7)
            blocks.append(fmt.render_resolved(tag, decision, "Lesson %d." % i))
    blocks.insert(50, "A note written by hand, not an entry.")
    text = fmt.render_log(blocks)
    (tmp_path / "trading_memory.md").write_text(text, encoding="utf-8")
    expected = fmt.parse_entries(text)
    assert len(expected) == 100

    log = make_log(server, tmp_path)
    assert log.load_entries() == expected
    assert len(log.get_pending_entries()) == 10
    assert log.client.count(log.collection) == {"count": 90, "pending": 10}
    # The hand-written block is kept beside the log; the log itself now holds the entries only.
    assert "A note written by hand" in (tmp_path / "trading_memory.unparsed.md").read_text(encoding="utf-8")
    assert fmt.parse_entries(mirror(tmp_path)) == expected and "A note written by hand" not in mirror(tmp_path)
    # Returns and holding periods are numbers in the engine: as_of and outcomes work on imported entries.
    first = log.client.memory(log.collection, caller_id="decision:NVDA:2025-01-01")
    assert first["outcome"] == pytest.approx(-0.05) and first["metadata"]["holding_days"] == 1
    # Another process (a new object) sees the same log and imports nothing twice.
    again = make_log(server, tmp_path)
    assert again.load_entries() == expected
    assert again.client.count(again.collection)["count"] == 90


def test_an_entry_added_to_the_file_by_hand_is_imported(server, tmp_path):
    log = make_log(server, tmp_path)
    log.store_decision("NVDA", "2026-01-10", BUY)
    with open(tmp_path / "trading_memory.md", "a", encoding="utf-8") as handle:
        handle.write("[2026-01-05 | AAPL | Buy | +1.0% | +0.5% | 5d]\n\nDECISION:\nBuy AAPL.\n\nREFLECTION:\nCorrect." + SEP)
    assert [e["ticker"] for e in log.load_entries()] == ["NVDA", "AAPL"]
    assert "Recent cross-ticker lessons:\n\n[2026-01-05 | AAPL | Buy | +1.0%]\nCorrect." in log.get_past_context("NVDA")


def test_no_path_and_no_collection_is_a_no_op(server):
    log = TradingMemoryLog(config=None, server_url=server.url)
    log.store_decision("NVDA", "2026-01-10", BUY)
    log.update_with_outcome("NVDA", "2026-01-10", 0.05, 0.02, 5, "r")
    assert log.load_entries() == [] and log.get_past_context("NVDA") == "" and log.get_pending_entries() == []
    # Named by a collection instead, the log lives in the engine alone.
    engine_only = TradingMemoryLog({"memory_log_collection": "trader_log", "server_url": server.url})
    engine_only.store_decision("NVDA", "2026-01-10", BUY)
    assert [e["ticker"] for e in engine_only.get_pending_entries()] == ["NVDA"]


def test_similar_context_recalls_by_situation_as_of(server, tmp_path):
    log = make_log(server, tmp_path)
    situations = {
        "2026-01-05": "chip export restrictions tighten, datacenter demand slows",
        "2026-01-06": "record datacenter orders, new accelerator launch beats expectations",
        "2026-01-07": "chip export restrictions tighten again, guidance cut",
    }
    for day, situation in situations.items():
        log.store_decision("NVDA", day, BUY, situation=situation)
        log.update_with_outcome("NVDA", day, 0.01, 0.0, 1, "lesson of " + day)
    log.store_decision("AMD", "2026-01-07", SELL, situation="chip export restrictions tighten, guidance cut")
    log.update_with_outcome("AMD", "2026-01-07", -0.03, -0.01, 1, "AMD lesson")
    context = log.get_similar_context("chip export restrictions tighten, guidance cut", n=3, ticker="NVDA")
    assert context.startswith("Past analyses of NVDA most like today's situation (most similar first):\n\n[2026-01-07 | NVDA | Buy |")
    assert "Lessons from the most similar situations of other tickers:\n\n[2026-01-07 | AMD | Sell | -3.0%]\nAMD lesson" in context
    assert "lesson of 2026-01-06" not in context  # the least similar of four, with n=3
    # As of the 8th only the outcomes of the 5th and the 6th were known (one session, known the day after).
    early = log.get_similar_context("chip export restrictions tighten, guidance cut", n=3, ticker="NVDA", as_of="2026-01-08")
    assert "lesson of 2026-01-05" in early and "2026-01-07" not in early
    # The decision text is what TradingAgents stored; the situation is what recall compares.
    assert log.load_entries()[0]["decision"] == BUY


def _store_and_resolve(url, path, ticker, count):
    log = TradingMemoryLog({"memory_log_path": path, "server_url": url})
    for i in range(count):
        day = "2026-02-%02d" % (i + 1)
        log.store_decision(ticker, day, BUY if i % 2 else SELL)
        if i % 3 == 0:
            log.update_with_outcome(ticker, day, 0.01 * i, 0.0, 5, "%s lesson %d" % (ticker, i))


def test_two_processes_store_and_resolve_at_once(server, tmp_path):
    path = str(tmp_path / "shared.md")
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_store_and_resolve, args=(server.url, path, ticker, 12)) for ticker in ("NVDA", "600519.SH")]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    log = TradingMemoryLog({"memory_log_path": path, "server_url": server.url})
    entries = log.load_entries()
    for ticker in ("NVDA", "600519.SH"):
        mine = [e for e in entries if e["ticker"] == ticker]
        assert [e["date"] for e in mine] == ["2026-02-%02d" % (i + 1) for i in range(12)]
        assert [e["reflection"] for e in mine if not e["pending"]] == ["%s lesson %d" % (ticker, i) for i in (0, 3, 6, 9)]
    # The mirror was rewritten last by one of them under the lock: it holds the whole log.
    assert fmt.parse_entries(mirror(tmp_path, "shared.md")) == entries


def test_an_unreachable_server_keeps_the_decision_in_the_file_and_says_so(tmp_path, caplog):
    import hindsight_memory.log as log_module
    log_module._warned.clear()
    down = TradingMemoryLog({"memory_log_path": str(tmp_path / "trading_memory.md"), "server_url": "http://127.0.0.1:9"})
    with caplog.at_level(logging.WARNING, logger="hindsight"):
        down.store_decision("NVDA", "2026-01-10", BUY)
        assert down.get_past_context("NVDA") == ""
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("cannot reach the Hindsight server" in m and "appended to" in m for m in messages), messages
    assert any("get_past_context" in m and "no past context" in m for m in messages), messages
    assert "[2026-01-10 | NVDA | Buy | pending]" in mirror(tmp_path)
    strict = TradingMemoryLog({"memory_log_path": str(tmp_path / "other.md"), "server_url": "http://127.0.0.1:9", "strict": True})
    with pytest.raises(HindsightError):
        strict.get_past_context("NVDA")
    with pytest.raises(HindsightError):
        strict.store_decision("NVDA", "2026-01-10", BUY)
    assert "[2026-01-10 | NVDA | Buy | pending]" in mirror(tmp_path, "other.md"), "kept in the file even when strict"
    # Once a server is there, the entry written while it was away is imported.
    server = Server()
    try:
        back = TradingMemoryLog({"memory_log_path": str(tmp_path / "trading_memory.md"), "server_url": server.url})
        back.update_with_outcome("NVDA", "2026-01-10", 0.02, 0.01, 5, "Imported, then resolved.")
        assert [(e["pending"], e["reflection"]) for e in back.load_entries()] == [(False, "Imported, then resolved.")]
    finally:
        server.stop()


def test_bad_input_is_refused_and_changes_nothing(server, tmp_path):
    log = make_log(server, tmp_path)
    log.store_decision("NVDA", "2026-01-10", BUY)
    before = mirror(tmp_path)
    with pytest.raises(HindsightError) as error:
        log.store_decision("NVDA", "not a date", BUY)
    assert error.value.status == 400
    with pytest.raises((ValueError, TypeError)):
        log.update_with_outcome("NVDA", "2026-01-10", "lots", 0.0, 5, "r")
    assert mirror(tmp_path) == before and len(log.get_pending_entries()) == 1


def test_collections_are_named_after_the_absolute_path(tmp_path):
    a = collection_for_path(tmp_path / "memory" / "trading_memory.md")
    assert a.startswith("log.trading_memory.") and a == collection_for_path(str(tmp_path / "memory" / ".." / "memory" / "trading_memory.md"))
    assert a != collection_for_path(tmp_path / "other" / "trading_memory.md")
    os.makedirs(tmp_path / "日志", exist_ok=True)
    assert collection_for_path(tmp_path / "日志" / "交易记忆.md").startswith("log.____.")


def test_the_cli_exports_and_imports_the_same_file(server, tmp_path):
    import subprocess
    from conftest import hindsight_binary
    log = make_log(server, tmp_path)
    log.store_decision("NVDA", "2026-01-05", BUY + "\r\nTrailing space.  \n")
    log.update_with_outcome("NVDA", "2026-01-05", 0.042, 0.021, 5, "Momentum confirmed.")
    log.store_decision("600519.SH", "2026-01-06", "**Rating**: Underweight\n估值偏高，减仓。")
    log.store_decision("BRK.B", "2026-01-07", SELL, situation="insurance float, buybacks paused")
    database = os.path.join(server.directory.name, "db")
    exported = tmp_path / "exported.md"
    done = subprocess.run([hindsight_binary(), "log", "export", str(exported), "--db", database, "--collection", log.collection],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert exported.read_text(encoding="utf-8") == mirror(tmp_path), "the CLI writes the file the client writes, byte for byte"
    done = subprocess.run([hindsight_binary(), "log", "import", str(exported), "--db", database, "--collection", "imported",
                           "--embedder", "hashing"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "imported 1 resolved and 2 pending entries" in done.stdout
    imported = TradingMemoryLog({"memory_log_collection": "imported", "server_url": server.url})
    assert imported.load_entries() == log.load_entries()
    again = subprocess.run([hindsight_binary(), "log", "import", str(exported), "--db", database, "--collection", "imported",
                            "--embedder", "hashing"], capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and "imported 0 resolved and 0 pending entries" in again.stdout, again.stdout + again.stderr
