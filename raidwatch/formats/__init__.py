"""Local time formats for languages whose Django format would put English words
("p.m.", "midnight", "noon") or a long day-part word into alerts: Django has no
formats for Pashto, Tigrinya, Urdu and Punjabi, and Haitian Creole's and
Bengali's use such words. A 24-hour clock is digits only, understood
everywhere, and short enough for one SMS.
"""
