"""``python -m aelab``: the same command line as ``aelab``."""

import sys

from aelab.cli import main

sys.exit(main())
