//! Evaluation: CodiEsp gold, metrics (MAP, P/R/F1, recall@k) and reports.
