"""``python -m lstm_sentiment.train`` runs the toolchain CLI (see ``cli.py``)."""

from lstm_sentiment.train.cli import main

main()
