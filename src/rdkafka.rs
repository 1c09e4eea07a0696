//! rust-rdkafka adapter (to come).
