"""Digit Workbench: a terminal workbench for Kaggle's Digit Recognizer."""

__version__ = "0.1.0"
