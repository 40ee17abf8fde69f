"""The one post-processing path every list takes: top-n over scores or lists ranked ahead, the
job rules (expiry, exclusions, employer caps) and backfill, as stages of one pipeline."""
