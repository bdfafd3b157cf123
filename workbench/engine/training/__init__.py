"""A training: recipes resolved, inputs read once, fit, resume, predict."""
