// ProcessRunner module
