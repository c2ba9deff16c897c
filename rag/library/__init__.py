"""The notes folder as files: listing and reading notes, links to them, and watching them change."""
