"""The execution shortcuts that make a warm summary cheap (see each module)."""
