"""``FinancialSituationMemory``: the memory class of multi-agent trading frameworks, on Hindsight."""

import datetime
import logging

from .client import HindsightError
from .connection import client_for
from .embedding import resolve_embedder

log = logging.getLogger("hindsight")

# The causes of failed recalls already warned about in this process: the first of each is a
# WARNING that says how to fix it; repeats are DEBUG.
_warned_causes = set()


def _failure_advice(error, client):
    """(cause, what to do) for an error of a recall through ``client``."""
    where = client.describe()
    in_process = client.server_url is None
    if isinstance(error, HindsightError):
        if error.status == 0 and error.code == "transport":
            return ("transport", "cannot reach %s (%s): start it (`hindsight serve --db DIR --embedder local`), "
                    "set server_url / HINDSIGHT_URL to where it runs, or drop server_url to use the engine in this process" % (where, error))
        if error.status == 401:
            return ("token", "%s refused the bearer token: set token / HINDSIGHT_TOKEN to the one in its --token-file" % where)
        if error.code == "no_embedder":
            if in_process:
                return ("no_embedder", "%s has no embedder to turn situations into vectors: fetch the local model with "
                        "hindsight.fetch_model() (or `hindsight model fetch`), set model_dir / HINDSIGHT_MODEL_DIR to it, "
                        "or pass an embedding callable in the config" % where)
            return ("no_embedder", "%s has no embedder to turn situations into vectors: start it with `--embedder local` "
                    "(after `hindsight model fetch`), or pass an embedding callable in the config" % where)
        if error.code == "embedding_model_mismatch":
            return ("model", "%s: embed with the collection's model, or recall into a collection of this model's name" % error)
        return (error.code, str(error))
    return ("embedder", "the embedder failed (%s): check its configuration" % error)


def _iso(value):
    """An ISO 8601 string for a date, datetime, string or Unix seconds (None stays None)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return value.isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    raise TypeError("expected a date, datetime, ISO string or Unix seconds, got %r" % (value,))


def _decay(value):
    """A decay dict for the server: ``{"half_life": "90d"}``, a number of days as a half-life, or None."""
    if value is None or isinstance(value, dict):
        return value
    if isinstance(value, (int, float)):
        return {"half_life": float(value) * 86400}
    if isinstance(value, str):
        return {"half_life": value}
    raise TypeError("decay must be a dict, a half-life in days, or a duration string")


class FinancialSituationMemory:
    """Stores (situation, recommendation) pairs and recalls the most similar past situations.

    ``config`` (a dict; keyword arguments override it; unknown keys are ignored, so a framework's
    own config dict can be passed as is):

    - ``path``: the database directory of the engine in this process (default ``$HINDSIGHT_PATH``, else
      ``./hindsight-data``), used unless ``server_url`` is given; ``embedder`` (``"local"``, ``"hashing"``,
      ``"none"``; default local when the model is found) and ``model_dir`` (default ``$HINDSIGHT_MODEL_DIR``,
      ``./models/all-MiniLM-L6-v2``, ``~/.cache/hindsight/all-MiniLM-L6-v2``) say how it embeds texts;
    - ``server_url``: a Hindsight server to use instead (default ``$HINDSIGHT_URL``; none);
    - ``token``: bearer token (default ``$HINDSIGHT_TOKEN``);
    - ``namespace``: a prefix for collection names, so parallel runs don't share memories;
    - ``ticker``: the ticker of this agent's situations (recalls prefer it, then fill from all);
    - ``as_of``: the simulated date of a back-test (nothing known later is returned);
    - ``decay``: ``{"half_life": "90d"}``, ``{"shape": "gauss", "scale": "30d"}``, or a half-life in days;
      with ``"calendar": "XNYS"`` (or ``"XSHG"``, ``"auto"``) ages count trading sessions;
    - ``kind_decay``: each memory kind's own decay (``{"news": {"half_life": "7d"}}``) or ``"finmem"``
      (news 14 days, quarterly 90, annual and reflection 365); see ``add_situations(kind=…)``;
    - ``retrieval``: ``"dense"``, ``"lexical"`` or ``"hybrid"`` (default: the collection's — hybrid for
      collections this class creates: situation vectors and BM25 over their words, fused by rank);
    - ``embedding``: a callable ``text -> list[float]``, ``{"provider": "server"}`` (the default: the
      server embeds), or ``{"provider": "openai", "base_url": ..., "model": ..., "api_key": ...}``;
    - ``strict``: raise from ``get_memories`` instead of returning ``[]`` when a recall fails (by
      default the first failure of each cause in a process is logged as a WARNING saying how to fix it).
    """

    #: Settings applied over the framework's config dict (``hindsight_memory.integrations.tradingagents.install`` sets them).
    _installed_settings = {}

    def __init__(self, name, config=None, **kw):
        settings = dict(config or {})
        settings.update(self._installed_settings)
        settings.update(kw)
        self.name = name
        self.namespace = settings.get("namespace")
        self.collection = "%s.%s" % (self.namespace, name) if self.namespace else name
        self.client = client_for(settings)
        self.ticker = settings.get("ticker")
        self.as_of = settings.get("as_of")
        self.decay = _decay(settings.get("decay"))
        self.kind_decay = settings.get("kind_decay")
        self.credit = settings.get("credit")
        self.retrieval = settings.get("retrieval")
        self.embedder = resolve_embedder(settings.get("embedding"), self.client)
        self.strict = bool(settings.get("strict", False))
        #: The decision this memory's recalls inform, when none is passed (set by the integration).
        self.decision_id = None
        self._ready = False

    # -- collection -----------------------------------------------------------------------------
    def _ensure_collection(self, dimension=None):
        if self._ready:
            return
        if dimension is None:
            dimension = self.embedder.dimension() or len(self.embedder(["dimension probe"])[0])
        self.client.get_or_create_collection(self.collection, dimension, embedding_model=self.embedder.model, decay=self.decay,
                                             kind_decay=self.kind_decay, credit=self.credit)
        self._ready = True

    def _vectors(self, texts):
        return None if self.embedder.server_side else self.embedder(list(texts))

    # -- the framework API ----------------------------------------------------------------------
    def add_situations(self, situations_and_advice, ticker=None, date=None, kind=None):
        """Adds ``[(situation, recommendation), ...]``; returns the engine ids. Raises on failure.
        ``kind`` (``"news"``, ``"quarterly"``, ``"annual"``, ``"reflection"``, …) lets a collection with
        ``kind_decay`` decay these memories their own way."""
        pairs = list(situations_and_advice)
        if not pairs:
            return []
        vectors = self._vectors(p[0] for p in pairs)
        self._ensure_collection(len(vectors[0]) if vectors else None)
        when = _iso(date or self.as_of) or datetime.datetime.now(datetime.timezone.utc).isoformat()
        records = []
        for index, (situation, recommendation) in enumerate(pairs):
            record = {"situation": situation, "reflection": recommendation, "time": when}
            if ticker or self.ticker:
                record["ticker"] = ticker or self.ticker
            if kind:
                record["kind"] = kind
            if vectors:
                record["vector"] = vectors[index]
            records.append(record)
        return self.client.add(self.collection, records)

    def get_memories(self, current_situation, n_matches=1, ticker=None, as_of=None, decision_id=None):
        """The ``n_matches`` most similar past situations, best first, as dicts with both key sets
        in use (``matched_situation``/``situation``, ``recommendation``,
        ``similarity_score``/``similarity``, ``distance``). Never raises: on any failure (server or
        embedder down, no collection yet) it logs and returns ``[]``; with fewer memories than
        ``n_matches`` it returns those there are. With ``decision_id`` the store records what was
        returned as that decision's provenance; resolving the decision (a pending decision of that
        caller id, or ``credit_decision``) credits these memories."""
        try:
            if n_matches <= 0:
                return []
            ticker = ticker or self.ticker
            # A query's decay would apply to every kind: with kind_decay the collection's settings rule.
            options = {"k": n_matches, "as_of": _iso(as_of or self.as_of), "decay": None if self.kind_decay else self.decay,
                       "retrieval": self.retrieval, "decision_id": decision_id or self.decision_id}
            if ticker:
                options.update(ticker=ticker, mode="ticker_then_global", k_ticker=n_matches, k_global=n_matches)
            vectors = self._vectors([current_situation])
            # The text goes along either way: a collection with lexical recall ranks by words and vectors.
            try:
                results = self.client.query(self.collection, vectors=vectors, texts=[current_situation], **options)[0]
            except HindsightError as error:
                if error.code != "decision_resolved" or self.strict:
                    raise
                # The decision was resolved already: recall all the same, unrecorded.
                log.warning("get_memories(%s): decision %r is already resolved; this recall is not recorded", self.collection,
                            options["decision_id"])
                options["decision_id"] = None
                results = self.client.query(self.collection, vectors=vectors, texts=[current_situation], **options)[0]
        except Exception as error:  # the server, the embedder or anything else: never break the agent
            if isinstance(error, HindsightError) and error.code == "unknown_collection":
                log.debug("get_memories(%s): no memories yet (the collection is made by the first add)", self.collection)
                if self.strict:
                    raise
                return []
            if self.strict:
                raise
            cause, advice = _failure_advice(error, self.client)
            level = logging.DEBUG if cause in _warned_causes else logging.WARNING
            _warned_causes.add(cause)
            log.log(level, "get_memories(%s) returned no memories: %s", self.collection, advice)
            return []
        matches = []
        for result in results[:n_matches]:
            similarity = float(result["similarity"])
            matches.append({
                "matched_situation": result["situation"], "situation": result["situation"],
                "recommendation": result["reflection"],
                "similarity_score": similarity, "similarity": similarity, "distance": 1.0 - similarity,
                "score": float(result["score"]), "ticker": result.get("ticker"), "date": result.get("time"),
                "id": result.get("id"), "layer": result.get("layer"),
                "lexical_score": result.get("lexical_score"), "matched_terms": result.get("matched_terms", []),
            })
        if len(matches) < n_matches:
            log.debug("get_memories(%s): %d of %d matches available", self.collection, len(matches), n_matches)
        return matches

    def get_analogues(self, current_situation, n=50, ticker=None, as_of=None, weighted=False):
        """What happened after situations like this one: statistics over the ``n`` most similar
        resolved memories (with an outcome) known as of ``as_of`` — of ``ticker`` only when given —
        as ``{"count", "weighted", "all": group, "by_action": [group]}``, a group being
        ``{"action", "outcome": {"count", "hit_rate", "mean", "median", "p10", "p90"}, "alpha": …}``
        (alpha from the memories' ``alpha_return`` metadata). Raises on failure."""
        options = {"k": 0, "as_of": _iso(as_of or self.as_of), "analogues": n, "analogues_weighted": weighted}
        ticker = ticker or self.ticker
        if ticker:
            options.update(ticker=ticker, mode="ticker")
        vectors = self._vectors([current_situation])
        answer = self.client.query_answer(self.collection, vectors=vectors, texts=None if vectors else [current_situation], **options)
        return answer["analogues"][0]

    def provenance(self, decision_id, as_of=None):
        """What ``decision_id`` was shown and how each memory's credit stands as of ``as_of`` (see
        ``HindsightClient.provenance``). Raises on failure."""
        return self.client.provenance(decision_id, as_of=_iso(as_of))

    def credit_decision(self, decision_id, outcome, action=None, known_at=None):
        """Credits what ``decision_id`` was shown with the outcome of a decision kept outside the store."""
        return self.client.credit_decision(decision_id, outcome, action=action, known_at=_iso(known_at))

    def health(self):
        """The state of what recalls need: ``{"server": ..., "collection": ..., "embedder": ...}``,
        each a dict with ``ok`` and what was found, or the error and how to fix it."""
        url, client = self.client.server_url, self.client
        try:
            server = dict(self.client.health(), ok=True, url=url, where=client.describe())
        except Exception as error:
            unreachable = {"ok": False, "error": "%s is unavailable" % client.describe()}
            embedder = unreachable if self.embedder.server_side else {"ok": True, "model": self.embedder.model, "where": "client"}
            return {"server": {"ok": False, "url": url, "error": _failure_advice(error, client)[1]},
                    "collection": dict(unreachable, name=self.collection), "embedder": embedder}
        try:
            counts = self.client.count(self.collection)
            collection = {"ok": True, "name": self.collection, "exists": True, "count": counts["count"], "pending": counts["pending"]}
        except HindsightError as error:
            if error.code == "unknown_collection":
                collection = {"ok": True, "name": self.collection, "exists": False, "note": "made by the first add"}
            else:
                collection = {"ok": False, "name": self.collection, "error": _failure_advice(error, client)[1]}
        if not self.embedder.server_side:
            embedder = {"ok": True, "model": self.embedder.model, "where": "client"}
        else:
            try:
                answer = self.client.embedder()
                embedder = {"ok": True, "model": answer["model"], "dimension": answer["dimension"], "where": "server"}
            except HindsightError as error:
                cause = HindsightError(str(error), error.status, "no_embedder") if error.status == 404 else error
                embedder = {"ok": False, "where": "server", "error": _failure_advice(cause, client)[1]}
        return {"server": server, "collection": collection, "embedder": embedder}

    def count(self):
        """Live memories (0 before the first add)."""
        try:
            return self.client.count(self.collection)["count"]
        except HindsightError as error:
            if error.code == "unknown_collection":
                return 0
            raise

    def clear(self):
        """Deletes every memory, keeping the collection; returns how many."""
        try:
            return self.client.clear(self.collection)
        except HindsightError as error:
            if error.code == "unknown_collection":
                return 0
            raise
