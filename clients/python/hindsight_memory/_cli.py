"""The ``hindsight`` command installed with the package: runs the binary the wheel carries."""

import os
import sys

from .native import bundled_binary


def main():
    binary = bundled_binary()
    if binary is None:
        sys.stderr.write("hindsight: this installation carries no hindsight binary (an editable install?): "
                         "run the checkout's .build/debug/hindsight, or install with `pip install ./clients/python`\n")
        return 127
    os.execv(binary, [binary] + sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
