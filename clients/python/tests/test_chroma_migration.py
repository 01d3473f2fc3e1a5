"""Moving a real Chroma collection (chromadb from PyPI) into Hindsight, in-process."""

import pytest

import hindsight_memory
from hindsight_memory import import_chroma

chromadb = pytest.importorskip("chromadb", reason="install chromadb from PyPI (tools/test.sh does) to test the migration")


def _vector(seed, dimension=8):
    return [((seed * 7 + i * 3) % 11 - 5) / 5.0 for i in range(dimension)]


def test_a_chroma_collection_moves_with_its_ids_documents_metadata_and_vectors(tmp_path):
    chroma = chromadb.PersistentClient(path=str(tmp_path / "chroma"))
    source = chroma.create_collection("bull_memory", embedding_function=None)
    ids = ["m%d" % i for i in range(7)]
    documents = ["贵州茅台 600519.SH 提价 %d" % i if i % 2 else "BRK.B buyback, day %d" % i for i in range(7)]
    metadatas = [{"recommendation": "lesson %d" % i, "ticker": "600519.SH" if i % 2 else "BRK.B",
                  "date": "2025-01-%02d" % (i + 1), "confidence": 0.1 * i, "regime": "bull"} for i in range(7)]
    source.add(ids=ids, documents=documents, metadatas=metadatas, embeddings=[_vector(i) for i in range(7)])

    client = hindsight_memory.connect(str(tmp_path / "hindsight"), embedder="none")
    assert import_chroma(source, client, "bull_memory", batch=3) == 7
    assert client.count("bull_memory") == {"count": 7, "pending": 0}
    for i in range(7):
        memory = client.memory("bull_memory", caller_id="m%d" % i)
        assert memory["situation"] == documents[i] and memory["reflection"] == "lesson %d" % i
        assert memory["ticker"] == metadatas[i]["ticker"] and memory["time"].startswith("2025-01-%02d" % (i + 1))
        assert memory["metadata"] == {"confidence": pytest.approx(0.1 * i), "regime": "bull", "date": metadatas[i]["date"]}

    # The vectors came along: each one's nearest memory is itself, with the cosine Chroma's own query gives.
    for i in range(7):
        best = client.query("bull_memory", vectors=[_vector(i)], k=1)[0][0]
        theirs = source.query(query_embeddings=[_vector(i)], n_results=1, include=["distances"])
        assert best["id"] == "m%d" % i == theirs["ids"][0][0]
    # As of a date, only what was there then (Chroma cannot say).
    assert {r["id"] for r in client.query("bull_memory", vectors=[_vector(0)], k=10, as_of="2025-01-03T12:00:00Z")[0]} == {"m0", "m1", "m2"}
    with pytest.raises(hindsight_memory.HindsightError) as raised:
        import_chroma(source, client, "bull_memory")
    assert raised.value.code == "duplicate_id" and client.count("bull_memory")["count"] == 7
    assert import_chroma(source, client, "bull_memory", upsert=True) == 7 and client.count("bull_memory")["count"] == 7
    client.close()
