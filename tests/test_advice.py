"""Advice that works (issue 31: 9): a file made on the sample is never advised a check that
passes locally for a file Kaggle rejects; the fix named is predicting on Kaggle's data."""

from __future__ import annotations

import re
import shlex


def test_baseline_on_the_sample_advises_a_check_that_passes_and_says_kaggle_would_refuse(cli):
    made = cli("baseline", "random")
    assert made.returncode == 0, made.stderr
    assert "not Kaggle's 28,000, so Kaggle would reject it" in made.stdout
    command = re.search(r"'(workbench-engine submission check [^']+)'", made.stdout)[1]
    checked = cli(*shlex.split(command)[1:])
    assert checked.returncode == 0, checked.stderr


def test_a_sample_submission_checked_for_kaggle_is_told_to_predict_on_kaggle_s_data(cli):
    cli("baseline", "random")
    checked = cli("submission", "check", "submissions/random.csv")
    assert checked.returncode == 2
    assert "predict RUN --data data/digit-recognizer.zip" in checked.stderr
    assert "sample-zip" not in checked.stderr and "site-packages" not in checked.stderr
    assert "check it with --data" not in checked.stderr
