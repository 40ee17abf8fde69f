"""One training pipeline: inputs (files, s3://, the event store, the window) → fit → write →
publish; the Spark engine plugs in its own reader and fitter and ends the same way."""
