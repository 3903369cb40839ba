"""`make bench`: performance figures, each printed beside its target and saved as JSON under var/bench/."""
