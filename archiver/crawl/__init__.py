"""Fetching: the network guard, the HTTP client, politeness and retries, one
target fetched hop by hop, and the checks that tell a live page from a fake."""
