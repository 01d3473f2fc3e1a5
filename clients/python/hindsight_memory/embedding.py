"""Where vectors come from: a Python callable, an OpenAI-compatible endpoint, or the server."""

import json
import urllib.error
import urllib.request


class ServerEmbedder:
    """Texts are sent as text; the server embeds them with its own model (``hindsight serve --embedder``)."""

    server_side = True

    def __init__(self, client):
        self.client = client
        self._info = None

    def info(self):
        if self._info is None:
            self._info = self.client.embedder()
        return self._info

    @property
    def model(self):
        return self.info()["model"]

    def dimension(self):
        return self.info()["dimension"]

    def __call__(self, texts):
        return self.client.embed(texts)


class CallableEmbedder:
    """A user function ``text -> list[float]``."""

    server_side = False

    def __init__(self, function, model=None):
        self.function = function
        self.model = model or getattr(function, "__name__", "callable")

    def dimension(self):
        return None

    def __call__(self, texts):
        return [list(map(float, self.function(text))) for text in texts]


class OpenAIEmbedder:
    """An OpenAI-compatible ``/embeddings`` endpoint (OpenAI, vLLM, Ollama, LM Studio, …)."""

    server_side = False

    def __init__(self, base_url, model, api_key=None, timeout=60.0, max_characters=6000):
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key
        self.timeout = timeout
        self.max_characters = max_characters

    def dimension(self):
        return None

    def __call__(self, texts):
        body = json.dumps({"model": self.model, "input": [t[: self.max_characters] for t in texts]}).encode("utf-8")
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = "Bearer " + self.api_key
        request = urllib.request.Request(self.base_url + "/embeddings", data=body, headers=headers, method="POST")
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            data = json.loads(response.read())["data"]
        data = sorted(enumerate(data), key=lambda pair: pair[1].get("index", pair[0]))
        return [item["embedding"] for _, item in data]


def resolve_embedder(embedding, client):
    """The embedder a configuration names.

    ``embedding`` is a callable ``text -> list[float]``; or a dict ``{"provider": "server"}``,
    ``{"provider": "openai", "base_url": ..., "model": ..., "api_key": ...}``; or None (the server's).
    """
    if embedding is None:
        return ServerEmbedder(client)
    if callable(embedding):
        return CallableEmbedder(embedding)
    if isinstance(embedding, dict):
        provider = embedding.get("provider", "server")
        if provider == "server":
            return ServerEmbedder(client)
        if provider in ("openai", "openai-compatible"):
            return OpenAIEmbedder(embedding["base_url"], embedding["model"], embedding.get("api_key"),
                                  timeout=embedding.get("timeout", 60.0))
        raise ValueError("unknown embedding provider %r (use 'server' or 'openai')" % provider)
    raise TypeError("embedding must be a callable, a provider dict, or None")
