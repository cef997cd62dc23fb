"""napari plugin for cellmech: readers for AFM maps and cellmech outputs, the CellMech dock
widget (run the analysis, inspect every curve and its fit, export) and the sample data.

The npe2 manifest is ``napari.yaml``; the core package ``cellmech`` never imports this one.
"""
