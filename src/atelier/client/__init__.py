"""The Backend seam between the SDK and where workspaces live (in-process or a server)."""
