// MemoryAnalysis module
