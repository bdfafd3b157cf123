"""What runs predict: prediction arrays, submissions, reviews."""
