"""Modal dialogs the pages open: matched download and manual correction."""
