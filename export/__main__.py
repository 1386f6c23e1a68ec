"""``python -m lstm_sentiment.export`` is ``lstm-sentiment`` (see ``cli.py``)."""

from lstm_sentiment.export.cli import main

main()
