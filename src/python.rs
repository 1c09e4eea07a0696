//! PyO3 module `kafka_iam_oauth._native` (to come).
