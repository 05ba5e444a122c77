"""The test suite: real servers, real files, real subprocesses."""
