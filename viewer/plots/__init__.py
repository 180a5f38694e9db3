"""pyqtgraph items."""
