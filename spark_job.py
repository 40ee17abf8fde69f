"""``spark-submit spark_job.py --data PATH --out DIR [train options]``: the Spark engine's
training run (``python -m recommender train --engine spark``) as the script spark-submit runs,
taking its master, resources and Hadoop settings from the submission."""

import sys

from recommender.cli import main

if __name__ == "__main__":
    sys.exit(main(["-q", "train", "--engine", "spark", *sys.argv[1:]]))
