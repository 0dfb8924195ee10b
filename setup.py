"""Build hook for the optional C speedups of the slow-log digest (everything else is in pyproject.toml).

``optional=True``: when the extension cannot be built (no compiler, no Python headers) the install still succeeds
and the pure-Python code is used (``casework.diagnostics.slowlog.fingerprint`` picks whichever is there)."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "casework.diagnostics.slowlog._speedups",
            ["src/casework/diagnostics/slowlog/_speedups.c"],
            optional=True,
            extra_compile_args=["-O2"],
        )
    ]
)
