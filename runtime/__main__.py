"""``python -m lstm_sentiment.runtime`` runs the ``scorer`` CLI (see ``cli.py``)."""

from lstm_sentiment.runtime.cli import main

main()
