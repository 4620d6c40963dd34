#!/usr/bin/env python
"""Same as the `raidwatch` command, for people used to manage.py."""

from raidwatch.cli import main

if __name__ == "__main__":
    main()
