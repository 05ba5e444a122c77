"""The command line: the click commands, the options they share, the settings
they build, and progress on the terminal."""
