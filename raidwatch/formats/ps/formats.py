"""Times in ps: 24-hour digits (see raidwatch.formats)."""

TIME_FORMAT = "H:i"
