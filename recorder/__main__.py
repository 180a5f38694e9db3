"""``python -m recorder`` is the ``sessiontrail`` command."""

import sys

from .cli import main

sys.exit(main())
