"""Speed and memory benchmarks of the engine against plain sentence-transformers + FAISS."""
