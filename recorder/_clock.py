"""The recorder's clock: nanoseconds since the Unix epoch.

One indirection so ``sessiontrail demo`` can lay sessions out over past days; nothing else
replaces it.
"""

import time

now_ns = time.time_ns
