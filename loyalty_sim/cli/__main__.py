"""``python -m loyalty_sim.cli``: the same as the ``loyalty-sim`` console script."""

import sys

from . import main

sys.exit(main())
