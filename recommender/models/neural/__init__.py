"""The two-tower neural model: trained with PyTorch (:mod:`.train`), served with numpy
(:mod:`.model`)."""
