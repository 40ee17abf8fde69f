"""Models behind one interface (:mod:`~recommender.models.base`), each module with its Params
beside it, and the registry (:mod:`~recommender.models.registry`) that names them once."""
