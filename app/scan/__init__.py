"""The staff scan station: USB keyboard-wedge scanners and cameras."""
