"""``python -m caviar ...``: the ``caviar`` command."""

import sys

from caviar.cli import main

sys.exit(main())
