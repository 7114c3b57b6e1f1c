// Live module
