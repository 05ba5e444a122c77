"""The history store: what every run checked, and the rules that turn a
link's checks into verdicts (suspect, dead, revived, drift)."""
