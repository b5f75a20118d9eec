"""Helpers for tests: real local servers instead of mocks where the network matters."""
