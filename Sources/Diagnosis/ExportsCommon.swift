/// Times, quantities and number formats come from Common, the one place they are written.
@_exported import Common
