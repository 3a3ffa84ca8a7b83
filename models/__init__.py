"""Datasets, model definitions, training, and export of models as NIR graphs."""
