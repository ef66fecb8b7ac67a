"""The 3D depth-candle chart (pyqtgraph.opengl): geometry in numpy, one view widget."""
