"""``python -m pkcache``: the same CLI as the ``pkcache`` command."""

import sys

from ._cli import main

sys.exit(main())
