"""``python -m pkcache``: the same CLI as the ``pkcache`` command."""

import sys

from ._cli.main import main

sys.exit(main())
