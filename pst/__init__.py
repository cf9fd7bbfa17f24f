"""PST Pustaka: the library service of a BPS PST office.

This package holds the `pst` command and the rules both the appliance and the cloud share.
"""

__version__ = "0.1.0"
