"""Afterglow: post-purchase offers that pay, on infrastructure the retailer owns."""

__version__ = "0.1.0"
