//! Placeholder until the fuzz targets land (robustness issue).
