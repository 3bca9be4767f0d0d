"""The ``bloc`` command line (installed as ``ledger.cli``): thin click commands over ``ledger``."""
