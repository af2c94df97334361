// Owns the precompiled torch header that the project libraries reuse.
