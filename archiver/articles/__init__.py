"""Articles in: find and read article files, extract every URL they cite, plan
the fetches (deduplicated across articles, each remembering who cites it)."""
