"""The Spark training path: read, score and fit with Spark, write the service's bundle.

Only this package imports pyspark, and only when it is used (``train --engine spark``, the
``spark-als`` model); the service and the default CLI never do. pyspark is an optional extra
(``requirements-spark.txt``); without it these paths stop with
:class:`~recommender.errors.EngineUnavailableError`.

The modules: ``session`` (the SparkSession); ``inputs`` (activities.jsonl and mapped logs read
into Spark) with ``checks`` (the value rules), ``records`` (JSON records of a schema) and
``validation`` (checked reads); ``scoring`` (the scoring rule in Spark SQL); ``als`` (Spark's ALS
fitted on a matrix); ``train`` (the whole ``train --engine spark`` run).
"""
