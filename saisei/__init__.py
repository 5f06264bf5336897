"""Saisei: runs a regenerative-medicine programme under Japan's ASRM end to end."""

__version__ = "0.1.0"
