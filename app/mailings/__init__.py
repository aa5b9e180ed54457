"""Mailings: staff forwarding collected cards to each case."""
