// Runbooks module
