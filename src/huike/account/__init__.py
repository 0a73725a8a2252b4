"""Accounts: trial registration, SMS codes, login (password, SMS, WeCom QR), sessions and devices."""
