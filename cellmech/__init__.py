"""cellmech: correlative AFM force-map and fluorescence analysis of cell mechanics."""

__version__ = "0.1.0"
