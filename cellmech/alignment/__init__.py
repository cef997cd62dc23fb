"""Building blocks of the registration stage (:mod:`cellmech.register`).

:mod:`.footprint` (AFM zero-force-height footprint and fluorescence cell mask, their
mean-squares score and the multi-start rigid search), :mod:`.constellation` (cell-centroid
matching, scale and residuals), :mod:`.landmarks` (point pairs and a RANSAC fit) and
:mod:`.refine` (SimpleITK mutual-information affine refinement). Plain NumPy/SciPy; only
:mod:`cellmech.register` composes them.
"""
