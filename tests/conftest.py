"""Test-wide setup.

Every Ray process the tests start (a head via ``ray start``, private instances via
``ray.init``) binds 127.0.0.1 only: with Ray's cluster networking off it does not
use the machine's network address. Tests send traffic to loopback only.
"""

import os

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
