"""Moving a Chroma collection into Hindsight: ids, documents, metadatas and embeddings."""

import datetime

TIME_KEYS = ("time", "timestamp", "date", "trade_date", "created_at")


def _time(metadata, time_key, default):
    """The memory's time: the metadata's ``time_key`` (or the first of :data:`TIME_KEYS` present), else ``default``."""
    for key in ((time_key,) if time_key else TIME_KEYS):
        value = metadata.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str) and value:
            return value
    return default


def import_chroma(source, client, collection, reflection_key="recommendation", ticker_key="ticker", time_key=None,
                  embedding_model=None, decay=None, batch=500, upsert=False):
    """Copies every record of a Chroma collection into the Hindsight collection ``collection``;
    returns how many.

    ``source`` is a ``chromadb`` collection (``chromadb.PersistentClient(path=…).get_collection(name)``);
    ``client`` a :class:`~hindsight_memory.HindsightClient` (``hindsight_memory.connect(path)`` or a server's).
    Each record becomes a memory: the Chroma id is its caller id, the document its situation, the
    embedding its vector; ``metadata[reflection_key]`` (TradingAgents' ``recommendation``) its reflection,
    ``metadata[ticker_key]`` its ticker, ``metadata[time_key]`` (default: the first of ``time``,
    ``timestamp``, ``date``, ``trade_date``, ``created_at``) its time, and the import's time when none
    is there; every metadata key but the reflection's and the ticker's stays in the metadata. The collection is created with the
    embeddings' dimension; pass ``embedding_model`` when the vectors come from a model the engine
    also runs (Chroma's default embedding function is all-MiniLM-L6-v2, the engine's local model),
    so that recalls may send text. Records are read and written ``batch`` at a time, each batch in
    one transaction; with ``upsert`` an id already present is replaced, else it is an error.
    """
    total = source.count()
    if total == 0:
        return 0
    now = datetime.datetime.now(datetime.timezone.utc).isoformat()
    ready = False
    copied = 0
    for offset in range(0, total, batch):
        page = source.get(include=["documents", "metadatas", "embeddings"], limit=batch, offset=offset)
        records = []
        for index, record_id in enumerate(page["ids"]):
            vector = [float(x) for x in page["embeddings"][index]]
            metadata = dict(page["metadatas"][index] or {})
            record = {"id": str(record_id), "situation": page["documents"][index] or "",
                      "reflection": str(metadata.pop(reflection_key, "") or ""), "vector": vector,
                      "time": _time(metadata, time_key, now)}
            ticker = metadata.pop(ticker_key, None)
            if ticker:
                record["ticker"] = str(ticker)
            metadata = {k: v for k, v in metadata.items() if isinstance(v, (str, int, float, bool)) and v is not None}
            if metadata:
                record["metadata"] = metadata
            records.append(record)
        if not ready:
            client.get_or_create_collection(collection, len(records[0]["vector"]), embedding_model=embedding_model, decay=decay)
            ready = True
        client.add(collection, records, upsert=upsert)
        copied += len(records)
    return copied
