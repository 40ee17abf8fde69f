"""A trained model on disk: the model with its id maps and lists (trained), its typed manifest,
the files of a bundle, the directory of versions and CURRENT, pruning, and the s3:// store."""
