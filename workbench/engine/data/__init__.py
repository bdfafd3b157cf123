"""The competition's data: CSV/zip to validated uint8 arrays, cached."""
