"""Plain NumPy reference ops that the library's ops are tested against."""
