"""JPK/Bruker NanoWizard files: :mod:`.archive` (zip members by ``pread``), :mod:`.properties`
(Java properties headers, grid geometry, channel conversions), :mod:`.reader` (the fast
vectorised reader) and :mod:`.writer` (a JPK force-map writer that afmformats reads)."""
