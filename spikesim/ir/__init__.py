"""The network IR."""
