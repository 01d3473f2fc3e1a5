"""Which transport a configuration names: a server (``server_url``) or the engine in this process (``path``)."""

import os

from .client import HindsightClient
from .native import NativeTransport


def client_for(settings, default_path=None):
    """A client for a framework's config dict: over HTTP when ``server_url`` (or ``$HINDSIGHT_URL``)
    is set, else in this process on ``path`` / ``hindsight_path`` (or ``$HINDSIGHT_PATH``, else
    ``default_path``, else ``./hindsight-data``)."""
    url = settings.get("server_url") or os.environ.get("HINDSIGHT_URL")
    if url:
        return HindsightClient(url, settings.get("token") or os.environ.get("HINDSIGHT_TOKEN"), timeout=settings.get("timeout", 30.0))
    path = settings.get("path") or settings.get("hindsight_path") or os.environ.get("HINDSIGHT_PATH") or default_path
    return connect(path, embedder=settings.get("embedder"), model_dir=settings.get("model_dir"),
                   calendar_files=settings.get("calendar_files"), precision=settings.get("embedding_precision"))


def connect(path=None, embedder=None, model_dir=None, map_size_mib=None, read_only=False, calendar_files=None, precision=None):
    """A client of the database directory ``path`` in this process (no server): the same methods as
    over HTTP. ``embedder``: ``"local"`` (all-MiniLM-L6-v2 from ``model_dir``; the default when that
    model is found), ``"hashing"`` (for tests and demos) or ``"none"`` (callers send vectors).
    ``calendar_files``: exchange calendars (JSON files) to load beside the built-in XNYS and XSHG, for
    decay counted in trading sessions. ``precision``: the local model's arithmetic, ``"f32"``,
    ``"int8"`` or ``"bf16"`` (faster; collections record them as ``+int8`` / ``+bf16`` models); default:
    bf16 on CPUs with AVX512-BF16, else f32. Every client of one directory in a process shares one handle;
    other processes may open it too."""
    return HindsightClient(transport=NativeTransport(path, embedder=embedder, model_dir=model_dir,
                                                     map_size_mib=map_size_mib, read_only=read_only, calendar_files=calendar_files,
                                                     precision=precision))
