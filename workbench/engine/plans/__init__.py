"""Many members: CV, ensembles, the search, on Ray when asked."""
