"""Dispatch rules: versioned rule sets, matching, simulation, YAML import/export, assignment inside a line."""
