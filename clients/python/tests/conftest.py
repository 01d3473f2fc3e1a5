import os
import re
import signal
import subprocess
import tempfile

import pytest

# The checkout (for the model and the C header); HINDSIGHT_REPO when the tests run from a copy (tools/test-wheel.sh).
REPO = os.environ.get("HINDSIGHT_REPO") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def hindsight_binary():
    """HINDSIGHT_BIN, else the command installed with the package (a wheel), else the checkout's debug build."""
    from hindsight_memory.native import bundled_binary

    path = os.environ.get("HINDSIGHT_BIN") or bundled_binary() or os.path.join(REPO, ".build", "debug", "hindsight")
    if not os.path.exists(path):
        pytest.fail("no hindsight binary at %s: run `swift build` first or set HINDSIGHT_BIN" % path)
    return path


class Server:
    """A `hindsight serve` process on a free loopback port, with a fresh database."""

    def __init__(self, token=None, embedder="hashing", extra=()):
        self.directory = tempfile.TemporaryDirectory(prefix="hindsight-py-")
        arguments = [hindsight_binary(), "serve", "--db", os.path.join(self.directory.name, "db"), "--port", "0", "--embedder", embedder]
        arguments += list(extra)
        self.token = token
        if token:
            token_file = os.path.join(self.directory.name, "token")
            with open(token_file, "w") as handle:
                handle.write(token + "\n")
            arguments += ["--token-file", token_file]
        self.process = subprocess.Popen(arguments, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        if not match:
            self.process.kill()
            raise RuntimeError("hindsight serve did not start: %r %s" % (line, self.process.stderr.read()))
        self.url = "http://127.0.0.1:%s" % match.group(1)

    def stop(self):
        """SIGTERM, then wait: a graceful stop exits 0 and says so."""
        self.process.send_signal(signal.SIGTERM)
        out, _ = self.process.communicate(timeout=20)
        self.directory.cleanup()
        return self.process.returncode, out


@pytest.fixture
def server():
    instance = Server()
    yield instance
    instance.stop()


@pytest.fixture
def token_server():
    instance = Server(token="py-s3cret")
    yield instance
    instance.stop()


MODEL_DIR = os.environ.get("HINDSIGHT_MODEL_DIR") or os.path.join(REPO, "models", "all-MiniLM-L6-v2")


def _cpu_has_bf16():
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    except OSError:
        return False
    return all(flag in flags for flag in ("avx512f", "avx512bw", "avx512_bf16"))


# The engine's default precision follows the CPU: bf16 (recorded as "+bf16") with AVX512-BF16, else f32.
DEFAULT_PRECISION_SUFFIX = "+bf16" if _cpu_has_bf16() and not os.environ.get("HINDSIGHT_DISABLE_AVX512_BF16") else ""


@pytest.fixture
def model_server():
    """A server embedding with the local all-MiniLM-L6-v2 (skipped when the model is absent)."""
    if not os.path.exists(os.path.join(MODEL_DIR, "model.safetensors")):
        pytest.skip("the reference model is absent: fetch it with `hindsight model fetch` (tools/fetch-model.sh), or set HINDSIGHT_MODEL_DIR")
    instance = Server(embedder="local", extra=["--model-dir", MODEL_DIR])
    yield instance
    instance.stop()
