"""A client of the Hindsight JSON API, over HTTP or in this process (standard library only)."""

import base64
import json
import struct
import urllib.error
import urllib.parse
import urllib.request


from .errors import HindsightError


def pack_vector(vector):
    """A vector in the compact wire form: base64 of little-endian float32 (a twentieth of the cost of
    formatting 384 floats as JSON numbers). Anything that does not pack (a value out of float32's
    range, a non-number) is sent as given, for the engine to refuse with its usual error."""
    if isinstance(vector, str):
        return vector
    try:
        return base64.b64encode(struct.pack("<%df" % len(vector), *vector)).decode("ascii")
    except (struct.error, TypeError, OverflowError):
        return vector


def _packed_record(record):
    vector = record.get("vector")
    return dict(record, vector=pack_vector(vector)) if isinstance(vector, (list, tuple)) else record


class HttpTransport:
    """Requests to ``hindsight serve`` over HTTP."""

    def __init__(self, server_url="http://127.0.0.1:8765", token=None, timeout=30.0):
        self.server_url = server_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def describe(self):
        return "the Hindsight server at %s" % self.server_url

    def request(self, method, path, body=None, query=None):
        url = self.server_url + path
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        data = None
        headers = {"Accept": "application/json"}
        if body is not None:
            data = json.dumps(body, allow_nan=False).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                payload = response.read()
        except urllib.error.HTTPError as error:
            payload = error.read()
            try:
                detail = json.loads(payload)["error"]
                raise HindsightError(detail.get("message", str(error)), error.code, detail.get("code", "http")) from None
            except (ValueError, KeyError, TypeError):
                raise HindsightError("HTTP %d from %s" % (error.code, path), error.code, "http") from None
        except (urllib.error.URLError, OSError) as error:
            raise HindsightError("cannot reach %s: %s" % (self.server_url, error)) from None
        return json.loads(payload) if payload else None

    def close(self):
        pass


class HindsightClient:
    """The JSON API of Hindsight: over HTTP to ``hindsight serve`` (``server_url``), or in this
    process (``transport=NativeTransport(path)``, see :func:`hindsight.connect`). Every method
    raises :class:`HindsightError` on failure."""

    def __init__(self, server_url="http://127.0.0.1:8765", token=None, timeout=30.0, transport=None):
        self.transport = transport or HttpTransport(server_url, token, timeout)
        self.server_url = getattr(self.transport, "server_url", None)

    def describe(self):
        """Where requests go, for messages: "the Hindsight server at …" or "the in-process database at …"."""
        return self.transport.describe()

    def request(self, method, path, body=None, query=None):
        return self.transport.request(method, path, body, query)

    def close(self):
        """Closes an in-process database (every client of that directory in this process); nothing for HTTP."""
        self.transport.close()

    @staticmethod
    def _segment(text):
        return urllib.parse.quote(str(text), safe="")

    def _collection(self, name):
        return "/v1/collections/" + self._segment(name)

    # -- API ------------------------------------------------------------------------------------
    def health(self):
        return self.request("GET", "/health")

    def embedder(self):
        """``{"model": ..., "dimension": ...}`` of the server's embedder."""
        return self.request("GET", "/v1/embedder")

    def embed(self, texts):
        return self.request("POST", "/v1/embed", {"texts": list(texts)})["embeddings"]

    def collections(self):
        return self.request("GET", "/v1/collections")["collections"]

    def collection(self, name):
        return self.request("GET", self._collection(name))

    def get_or_create_collection(self, name, dimension, embedding_model=None, decay=None, capacity=None, kind_decay=None, credit=None):
        """``credit``: ``{"beta": 0.2, "scale": 0.05}`` to score with the credit of resolved decisions."""
        body = {"dimension": dimension}
        if credit:
            body["credit"] = credit
        if kind_decay:
            body["kind_decay"] = kind_decay
        if embedding_model:
            body["embedding_model"] = embedding_model
        if decay:
            body["decay"] = decay
        if capacity:
            body["capacity"] = capacity
        return self.request("PUT", self._collection(name), body)

    def drop_collection(self, name):
        return self.request("DELETE", self._collection(name))

    def add(self, name, memories, upsert=False):
        memories = [_packed_record(record) for record in memories]
        return self.request("POST", self._collection(name) + "/memories", {"memories": memories, "upsert": upsert})["ids"]

    def count(self, name):
        return self.request("GET", self._collection(name) + "/count")

    def query(self, name, vectors=None, texts=None, **options):
        """One result list per query."""
        return self.query_answer(name, vectors, texts, **options)["results"]

    def query_answer(self, name, vectors=None, texts=None, **options):
        """The whole answer: ``{"results": [...]}`` and, with ``analogues=N``, ``"analogues"``."""
        body = {k: v for k, v in options.items() if v is not None}
        if vectors is not None:
            body["vectors"] = [pack_vector(vector) for vector in vectors]
        if texts is not None:
            body["texts"] = texts
        return self.request("POST", self._collection(name) + "/query", body)

    def _memory_path(self, name, caller_id=None, engine_id=None, prefix="/memories/"):
        """The path of one memory, named by exactly one of its caller id and its engine id."""
        if (caller_id is None) == (engine_id is None):
            raise ValueError("give exactly one of caller_id and engine_id")
        if engine_id is not None:
            return self._collection(name) + prefix + "by-engine-id/" + str(int(engine_id))
        return self._collection(name) + prefix + self._segment(caller_id)

    def memory(self, name, caller_id=None, engine_id=None):
        return self.request("GET", self._memory_path(name, caller_id, engine_id))

    def recent(self, name, ticker=None, exclude_ticker=None, limit=10, as_of=None):
        query = {"ticker": ticker, "exclude_ticker": exclude_ticker, "limit": limit, "as_of": as_of}
        return self.request("GET", self._collection(name) + "/memories", query=query)["memories"]

    def memories_in_order(self, name, ticker=None, page=1000):
        """Every memory of a collection, pending ones too, in the order they were added (read page by page)."""
        memories, after = [], None
        while True:
            rows = self.request("GET", self._collection(name) + "/memories",
                                query={"order": "id", "after": after, "limit": page, "ticker": ticker})["memories"]
            memories.extend(rows)
            if len(rows) < page:
                return memories
            after = rows[-1]["engine_id"]

    def clear(self, name):
        return self.request("DELETE", self._collection(name) + "/memories")["deleted"]

    def delete(self, name, caller_ids=None, engine_ids=None, where=None, all=False):
        """Deletes by caller ids, by engine ids, by a non-empty filter, or every memory (all=True): exactly one."""
        body = {key: value for key, value in (("caller_ids", caller_ids), ("engine_ids", engine_ids), ("where", where)) if value is not None}
        if all:
            body["all"] = True
        return self.request("POST", self._collection(name) + "/memories/delete", body)["deleted"]

    def provenance(self, decision_id, as_of=None):
        """What decision ``decision_id`` was shown (queries sent with ``decision_id=``), each memory's
        credit known by ``as_of`` (default now), and its resolution (None while unresolved)."""
        return self.request("GET", "/v1/decisions/" + self._segment(decision_id) + "/provenance", query={"as_of": as_of})

    def credit_decision(self, decision_id, outcome, action=None, credit=None, known_at=None):
        """Credits the memories a decision kept outside the store was shown: each receives
        ``credit`` or side(action) × outcome (BUY +1, SELL −1, HOLD 0), known from ``known_at``."""
        body = {"outcome": outcome}
        for key, value in (("action", action), ("credit", credit), ("known_at", known_at)):
            if value is not None:
                body[key] = value
        return self.request("POST", "/v1/decisions/" + self._segment(decision_id) + "/credit", body)

    def record_decision(self, name, record):
        return self.request("POST", self._collection(name) + "/decisions", _packed_record(record))["id"]

    def pending(self, name):
        return self.request("GET", self._collection(name) + "/decisions")["pending"]

    def resolve(self, name, caller_id, reflection, outcome=None, known_at=None, quality=None, metadata=None, engine_id=None):
        body = {"reflection": reflection}
        for key, value in (("outcome", outcome), ("known_at", known_at), ("quality", quality), ("metadata", metadata)):
            if value is not None:
                body[key] = value
        path = self._memory_path(name, None if engine_id is not None else caller_id, engine_id, prefix="/decisions/")
        return self.request("POST", path + "/resolve", body)
