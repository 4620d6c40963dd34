"""Playwright fixtures: written by the browser-harness work."""
