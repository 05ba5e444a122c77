"""Capture pages that only exist in a browser: Chromium behind a recording proxy.

``chromium`` drives Debian's headless Chromium over the DevTools protocol (a
pipe, no extra library); ``proxy`` is the man-in-the-middle proxy every byte
the browser sends or receives goes through, whose exchanges are handed to
the run to be recorded like any other fetch; ``ca`` makes the per-run
certificate authority the proxy signs its https certificates with. The stage
knows nothing of HTTP clients or WARC files: the run wires the proxy to the
crawler (for the SSRF guard and politeness) and to the one WARC writer.
"""
