"""Run folders: the run, its files, the event log, finding and listing runs."""
