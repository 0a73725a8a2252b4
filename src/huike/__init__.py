"""Huike (汇客): a privacy-first SCRM on WeCom."""

__version__ = "0.1.0"
