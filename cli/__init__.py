"""The ``rulesengine`` command line: a thin layer over the library.

Installed as the package ``rulesengine_cli`` so that it cannot clash with other packages.
"""
