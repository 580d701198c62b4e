"""The runs API: run now and the run history (``history``), and the workers (``workers``)."""
