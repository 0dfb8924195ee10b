"""Diagnostics: parsers and analyzers that turn what a customer sent into ranked findings.

A pure library: nothing here imports Django, so the CLI and the desk can both use it.
"""
