"""The package's PEP 517 build backend: setuptools, after ``swift build`` of the engine.

A wheel carries ``libHindsightC.so`` (the in-process engine), the ``hindsight`` command and
``hindsight.h`` in ``hindsight_memory/_native/``. They are built from the Swift package two levels up
(this file lives in ``clients/python/build_backend/``) with ``swift build -c release`` into
``.build-wheel/``, the Swift runtime linked statically and ``liblmdb.so.0`` copied beside them, so
the wheel runs on a machine of the same kind without Swift. ``HINDSIGHT_NATIVE_DIR=<bin dir>``
takes an existing build's products instead (the test script passes its debug build). An editable
install (``pip install -e``) builds nothing: the package finds the checkout's ``.build/`` itself.
"""

import os
import shutil
import subprocess
import sysconfig

from setuptools import build_meta as _setuptools
from setuptools.build_meta import (  # noqa: F401  (the rest of the PEP 517 interface, unchanged)
    build_editable,
    build_sdist,
    get_requires_for_build_editable,
    get_requires_for_build_sdist,
    get_requires_for_build_wheel,
    prepare_metadata_for_build_editable,
    prepare_metadata_for_build_wheel,
)

CLIENT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(os.path.dirname(CLIENT))
STAGE = os.path.join(CLIENT, "hindsight_memory", "_native")
SWIFT_STATIC = "lib/swift_static/linux"  # under the toolchain's usr/


def _log(message):
    print("hindsight-build: " + message, flush=True)


def _swift_release_build():
    """Builds the engine in release mode with the Swift runtime linked in; returns its bin directory."""
    if not os.path.exists(os.path.join(REPO, "Package.swift")):
        raise RuntimeError("hindsight-build: no Package.swift at %s: build the wheel from a checkout of the repository "
                           "(or set HINDSIGHT_NATIVE_DIR to a directory holding libHindsightC.so and hindsight)" % REPO)
    swift = shutil.which("swift")
    if swift is None:
        raise RuntimeError("hindsight-build: swift is not on PATH: install Swift (https://swift.org/install), "
                           "or install a prebuilt wheel made by tools/build-wheel.sh")
    usr = os.path.dirname(os.path.dirname(os.path.realpath(swift)))  # …/usr/bin/swift-driver -> …/usr
    command = [swift, "build", "-c", "release", "--scratch-path", os.path.join(REPO, ".build-wheel"),
               # The Swift runtime and Foundation inside the library and the command (no toolchain needed to run them);
               "-Xswiftc", "-static-stdlib", "-Xlinker", "-L" + os.path.join(usr, SWIFT_STATIC),
               # and liblmdb found beside them.
               "-Xlinker", "-rpath", "-Xlinker", "$ORIGIN"]
    _log(" ".join(command))
    subprocess.run(command, cwd=REPO, check=True)
    return subprocess.run(command[:6] + ["--show-bin-path"], cwd=REPO, check=True, capture_output=True, text=True).stdout.strip()


def _shared_libraries(binary):
    """(name, path) of the shared libraries ``binary`` loads, from ldd."""
    out = subprocess.run(["ldd", binary], check=True, capture_output=True, text=True).stdout
    found = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[1] == "=>" and parts[2].startswith("/"):
            found.append((parts[0], parts[2]))
    return found


def _stage():
    """Puts the native files in hindsight_memory/_native/ for setuptools to pack."""
    given = os.environ.get("HINDSIGHT_NATIVE_DIR")
    bin_dir = given or _swift_release_build()
    shutil.rmtree(STAGE, ignore_errors=True)
    os.makedirs(os.path.join(STAGE, "include"))
    for name in ("libHindsightC.so", "hindsight"):
        source = os.path.join(bin_dir, name)
        if not os.path.exists(source):
            raise RuntimeError("hindsight-build: %s is missing in %s" % (name, bin_dir))
        shutil.copy2(source, os.path.join(STAGE, name))
    shutil.copy2(os.path.join(REPO, "Sources", "HindsightC", "include", "hindsight.h"), os.path.join(STAGE, "include", "hindsight.h"))
    if not given and shutil.which("strip"):
        # Symbol tables only (a quarter of the size); Swift's runtime metadata stays.
        subprocess.run(["strip", "--strip-unneeded", os.path.join(STAGE, "libHindsightC.so"), os.path.join(STAGE, "hindsight")], check=True)
    if not given:
        # LMDB is the one library outside the C runtime that the products load: ship it beside them.
        for name, path in _shared_libraries(os.path.join(STAGE, "libHindsightC.so")):
            if name.startswith("liblmdb"):
                shutil.copy2(path, os.path.join(STAGE, name))
        for name, path in _shared_libraries(os.path.join(STAGE, "libHindsightC.so")):
            if "swift" in path:
                raise RuntimeError("hindsight-build: libHindsightC.so still loads %s from the Swift toolchain" % path)
    _log("staged %s" % ", ".join(sorted(os.listdir(STAGE))))


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    _stage()
    try:
        # A platform wheel for any Python 3: the native code is loaded with ctypes, not as an extension.
        settings = dict(config_settings or {})
        settings["--build-option"] = ["--plat-name", sysconfig.get_platform().replace("-", "_").replace(".", "_"),
                                      "--python-tag", "py3"]
        return _setuptools.build_wheel(wheel_directory, settings, metadata_directory)
    finally:
        shutil.rmtree(STAGE, ignore_errors=True)
