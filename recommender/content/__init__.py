"""Content: job text and user profiles as vectors in one space (gensim Word2Vec, trained once).

:mod:`~recommender.content.text` turns markup into tokens, :mod:`~recommender.content.vectors`
holds the trained word and job vectors (numpy only: what serving needs), and
:mod:`~recommender.content.word2vec` trains them (the only module that imports gensim, inside its
training function, so a service never loads it).
"""
