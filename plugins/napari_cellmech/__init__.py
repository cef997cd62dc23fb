"""napari plugin for cellmech (dock widget, readers and sample data arrive with the plugin issue)."""
