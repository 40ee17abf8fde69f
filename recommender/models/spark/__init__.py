"""Spark's side of ``spark-als``: the session, the settings mapping and the ALS fit, imported
only when the model fits (pyspark is an optional extra)."""
