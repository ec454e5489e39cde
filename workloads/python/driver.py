#!/usr/bin/env python3
"""gilbench's real-CPython driver.

    driver.py run                                  a Point's JSON on stdin -> one JSON record on stdout
    driver.py decide --controller NAME [--params JSON]
                                                   Sample JSON lines on stdin -> one decision per line

Standard library only, plus numpy / onnxruntime / betapool when a point needs them
(installed per interpreter by scripts/setup-cpython). Logs go to stderr.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main(argv):
    if len(argv) >= 1 and argv[0] == "run":
        from gilbench_driver import run
        run.main()
    elif len(argv) >= 1 and argv[0] == "decide":
        from gilbench_driver import controllers
        sys.exit(controllers.cli(argv[1:]))
    else:
        print(__doc__.strip(), file=sys.stderr)
        sys.exit(0 if argv[:1] in (["-h"], ["--help"]) else 2)


if __name__ == "__main__":
    main(sys.argv[1:])
