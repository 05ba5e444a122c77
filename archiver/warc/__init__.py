"""WARC files: write them, cut a crashed file back to whole records, and
index them for replay."""
