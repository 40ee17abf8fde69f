"""The one post-processing path every list takes: top-n over scores or lists ranked ahead, the
job rules (expiry, exclusions, filters on the jobs' fields, employer caps), backfill and the
page, as stages of one pipeline."""
