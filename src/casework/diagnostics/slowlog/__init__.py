"""Slow-log digest: one parser module per engine (like sqlglot's ``dialects/``), a shared fingerprinting and
aggregation core (``digest.py``), and findings per engine.
"""
