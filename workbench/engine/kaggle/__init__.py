"""The Kaggle competition through the official client."""
