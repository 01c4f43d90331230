"""azsim: a local Azure Resource Manager + login simulator for azure_ade.linux tests.

Not part of the built collection. Start it with ``python -m azsim serve --workdir DIR``.
See simulator/README.md for the scenario schema and the admin API.
"""

__version__ = "0.1.0"

DEFAULT_TENANT = "00000000-0000-0000-0000-0000000000aa"
DEFAULT_CLIENT_ID = "00000000-0000-0000-0000-0000000000bb"
DEFAULT_SECRET = "sim-secret"
DEFAULT_SUBSCRIPTION = "11111111-1111-1111-1111-111111111111"
